// The evaluation-mode batch norm of one channel's values with its activation, 16 lanes at a time
// (fovea_channel_normalization): what a pre-activation pointwise convolution applies to the image
// columns of a work item before its tiles read them. The same operations as the Swift
// `BatchNormCoefficients.apply` — a subtraction, a multiplication, an addition (never fused), then
// the activation — so the same bits; the last values go through masked loads and stores.
#include "CFoveaKernels.h"

#include <immintrin.h>

__attribute__((target("avx512f")))
void fovea_normalize_channel_avx512(const float *x, long count, const fovea_channel_normalization *normalization, long channel,
                                    float *y) {
    const __m512 mean = _mm512_set1_ps(normalization->mean[channel]);
    const __m512 scale = _mm512_set1_ps(normalization->scale[channel]);
    const __m512 shift = _mm512_set1_ps(normalization->shift[channel]);
    const __m512 slope = _mm512_set1_ps(normalization->slope);
    const __m512 zero = _mm512_setzero_ps();
    const int activation = normalization->activation;
    for (long i = 0; i < count; i += 16) {
        const __mmask16 live = count - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count - i)) - 1);
        __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(live, x + i), mean), scale), shift);
        if (activation == 1) {
            // ReLU: v < 0 → 0 (an ordered comparison, so NaN is kept).
            v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, zero);
        } else if (activation == 2) {
            // Leaky ReLU: v ≤ 0 → v·slope.
            v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, zero, _CMP_LE_OQ), v, _mm512_mul_ps(v, slope));
        }
        _mm512_mask_storeu_ps(y + i, live, v);
    }
}
