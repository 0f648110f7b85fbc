// The evaluation-mode batch norm of one channel's values with its activation, 16 lanes at a time
// (fovea_channel_normalization): what a pre-activation pointwise convolution applies to the image
// columns of a work item before its tiles read them. The operations of `fovea_normalized`
// (normalize_avx512.h), the Swift `BatchNormCoefficients.apply`'s, so the same bits; the last
// values go through masked loads and stores.
#include "normalize_avx512.h"

__attribute__((target("avx512f")))
void fovea_normalize_channel_avx512(const float *x, long count, const fovea_channel_normalization *normalization, long channel,
                                    float *y) {
    const fovea_channel_coefficients512 coefficients = fovea_channel_coefficients(normalization, channel);
    for (long i = 0; i < count; i += 16) {
        const __mmask16 live = count - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count - i)) - 1);
        _mm512_mask_storeu_ps(y + i, live, fovea_normalized(_mm512_maskz_loadu_ps(live, x + i), &coefficients));
    }
}
