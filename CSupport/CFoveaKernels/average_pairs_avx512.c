// 2×2 average pooling at stride 2 over one pair of input rows, sixteen outputs at a time, each
// tap first normalised by an evaluation-mode batch norm when one is given (DenseNet's transition,
// which pools before its 1×1 convolution): the operations and order of the Dispatch backend's
// `averagePairs` — normalise as `BatchNormCoefficients.apply` does (`fovea_normalized`), then
// ((((0 + a) + b) + c) + d) / 4 with a, b the upper row's even and odd taps and c, d the lower
// row's — so the same bits. The last outputs go through masked loads and stores.
#include "normalize_avx512.h"

__attribute__((target("avx512f")))
void fovea_average_pairs_avx512(const float *top, long width, long outputs, const fovea_channel_normalization *normalization,
                                long channel, float *y) {
    const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odds = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    fovea_channel_coefficients512 coefficients = {0};
    if (normalization) coefficients = fovea_channel_coefficients(normalization, channel);
    const __m512 four = _mm512_set1_ps(4.0f);
    const float *bottom = top + width;
    for (long q = 0; q < outputs; q += 16) {
        const long live = outputs - q < 16 ? outputs - q : 16;
        // Inputs 2q ..< 2q + 2·live of each row, in two vectors of 16.
        const long inputs = 2 * live;
        const __mmask16 low = inputs >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << inputs) - 1);
        const __mmask16 high = inputs >= 32 ? (__mmask16)0xFFFF : inputs > 16 ? (__mmask16)((1u << (inputs - 16)) - 1) : 0;
        __m512 upper0 = _mm512_maskz_loadu_ps(low, top + 2 * q), upper1 = _mm512_maskz_loadu_ps(high, top + 2 * q + 16);
        __m512 lower0 = _mm512_maskz_loadu_ps(low, bottom + 2 * q), lower1 = _mm512_maskz_loadu_ps(high, bottom + 2 * q + 16);
        if (normalization) {
            upper0 = fovea_normalized(upper0, &coefficients);
            upper1 = fovea_normalized(upper1, &coefficients);
            lower0 = fovea_normalized(lower0, &coefficients);
            lower1 = fovea_normalized(lower1, &coefficients);
        }
        __m512 sum = _mm512_add_ps(_mm512_setzero_ps(), _mm512_permutex2var_ps(upper0, evens, upper1));
        sum = _mm512_add_ps(sum, _mm512_permutex2var_ps(upper0, odds, upper1));
        sum = _mm512_add_ps(sum, _mm512_permutex2var_ps(lower0, evens, lower1));
        sum = _mm512_add_ps(sum, _mm512_permutex2var_ps(lower0, odds, lower1));
        const __mmask16 store = live >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << live) - 1);
        _mm512_mask_storeu_ps(y + q, store, _mm512_div_ps(sum, four));
    }
}
