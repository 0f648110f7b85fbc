// One vector of an evaluation-mode batch norm with its activation (fovea_channel_normalization),
// shared by normalize_channels_avx512.c and average_pairs_avx512.c: the operations of the Swift
// `BatchNormCoefficients.apply` — a subtraction, a multiplication, an addition (never fused), then
// ReLU (v < 0 → 0, an ordered comparison, so NaN is kept) or leaky ReLU (v ≤ 0 → v·slope) — so
// every caller gives the same bits.
#ifndef FOVEA_NORMALIZE_AVX512_H
#define FOVEA_NORMALIZE_AVX512_H

#include "CFoveaKernels.h"

#include <immintrin.h>

// One channel's coefficients broadcast to every lane.
typedef struct {
    __m512 mean, scale, shift, slope;
    int activation;
} fovea_channel_coefficients512;

__attribute__((target("avx512f"), always_inline))
static inline fovea_channel_coefficients512 fovea_channel_coefficients(const fovea_channel_normalization *n, long channel) {
    fovea_channel_coefficients512 c = {_mm512_set1_ps(n->mean[channel]), _mm512_set1_ps(n->scale[channel]),
                                       _mm512_set1_ps(n->shift[channel]), _mm512_set1_ps(n->slope), n->activation};
    return c;
}

__attribute__((target("avx512f"), always_inline))
static inline __m512 fovea_normalized(__m512 v, const fovea_channel_coefficients512 *c) {
    const __m512 zero = _mm512_setzero_ps();
    v = _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(v, c->mean), c->scale), c->shift);
    if (c->activation == 1) return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, zero);
    if (c->activation == 2) return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, zero, _CMP_LE_OQ), v, _mm512_mul_ps(v, c->slope));
    return v;
}

#endif
