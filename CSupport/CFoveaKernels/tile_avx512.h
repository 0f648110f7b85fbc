// The parts shared by the AVX-512 MR×32 micro-kernels (sgemm_kernel_avx512.c,
// shifted_image_kernel_avx512.c, shifted_rows_kernel_avx512.c): an MR×32 tile of C held in
// 2·MR zmm accumulators lo[i] | hi[i], zeroed by fovea_tile_begin, updated one step at a time by
// FOVEA_TILE_FMA_STEP, and stored through write masks by fovea_store_tile. The kernels differ only
// in where a step's A values and 32 B values come from.
#ifndef FOVEA_TILE_AVX512_H
#define FOVEA_TILE_AVX512_H

#include <immintrin.h>

// Zeroes the accumulators lo[0..<mr], hi[0..<mr] (mr a compile-time constant after inlining) and
// prefetches the m rows of C the tile will be stored to.
__attribute__((target("avx512f"), always_inline))
static inline void fovea_tile_begin(const int mr, __m512 *lo, __m512 *hi, const float *c, long ldc, int m) {
#pragma clang loop unroll(full)
    for (int i = 0; i < mr; ++i) {
        lo[i] = _mm512_setzero_ps();
        hi[i] = _mm512_setzero_ps();
    }
    for (int i = 0; i < m; ++i) _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
}

// One step of the tile: for each row i < mr in order, broadcast A's value `a_i` (an expression in
// the loop variable `i`) and issue lo[i] += a_i·b0, hi[i] += a_i·b1 as two FMAs. A macro rather
// than a function because `a_i` differs per kernel (a packed panel, or rows read from an image);
// with mr constant the loop is unrolled, so every kernel issues the same FMAs in the same order.
#define FOVEA_TILE_FMA_STEP(mr, a_i, b0, b1, lo, hi)                         \
    do {                                                                     \
        _Pragma("clang loop unroll(full)")                                   \
        for (int i = 0; i < (mr); ++i) {                                     \
            const __m512 av = _mm512_set1_ps(a_i);                           \
            (lo)[i] = _mm512_fmadd_ps(av, (b0), (lo)[i]);                    \
            (hi)[i] = _mm512_fmadd_ps(av, (b1), (hi)[i]);                    \
        }                                                                    \
    } while (0)

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
