// Shared by the AVX-512 12×32-style micro-kernels (sgemm_kernel_avx512.c,
// shifted_image_kernel_avx512.c): the write masks of a ragged tile and the tile's store.
#ifndef FOVEA_TILE_AVX512_H
#define FOVEA_TILE_AVX512_H

#include <immintrin.h>

// Lanes 0..<n of a 32-column tile row, as masks for its low and high 16 columns.
static inline void fovea_tile_masks(int n, __mmask16 *low, __mmask16 *high) {
    *low = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
    *high = n >= 32 ? (__mmask16)0xFFFF : n <= 16 ? (__mmask16)0 : (__mmask16)((1u << (n - 16)) - 1);
}

// Rows i < m (of mr, a compile-time constant after inlining) of the tile lo[i] | hi[i] into
// C + i·ldc through the masks; with `accumulate`, added to what C holds.
__attribute__((target("avx512f"), always_inline))
static inline void fovea_store_tile(const int mr, const __m512 *lo, const __m512 *hi, float *c, long ldc, int m,
                                    __mmask16 maskLo, __mmask16 maskHi, int accumulate) {
#pragma clang loop unroll(full)
    for (int i = 0; i < mr; ++i) {
        if (i < m) {
            float *row = c + i * ldc;
            __m512 x = lo[i], y = hi[i];
            if (accumulate) {
                x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(maskLo, row));
                y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(maskHi, row + 16));
            }
            _mm512_mask_storeu_ps(row, maskLo, x);
            _mm512_mask_storeu_ps(row + 16, maskHi, y);
        }
    }
}

#endif
