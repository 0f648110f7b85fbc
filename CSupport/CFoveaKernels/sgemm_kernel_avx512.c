// The AVX-512 GEMM micro-kernels: an MR×32 tile of C held in 2·MR zmm accumulators. Each step
// loads one 32-float row of the packed B panel (two zmm) and, for each of the MR rows, broadcasts
// one element of the packed A panel and issues two FMAs. With MR = 12 that is 24 independent FMA
// chains, three times what two 4-cycle FMA pipes need in flight, leaving room to hide the loads.
// Ragged edges (m < MR, n < 32) are computed in full and stored through AVX-512 write masks.
#include "CFoveaKernels.h"
#include "tile_avx512.h"

#include <immintrin.h>

#define FOVEA_AVX512_MAX_MR 14
// How far ahead the A stream is prefetched (4 KiB; 16 KiB measured no better, Docs/Performance.md).
#define FOVEA_A_PREFETCH_FLOATS 1024

// The shared body: the first `rows` rows of the tile, from an A panel of `stride` floats per step
// (rows = stride = MR for the full kernels; rows < stride for the ragged last panel of a product,
// whose zero rows are not computed). Both are compile-time constants in each wrapper below, so
// after inlining the accumulator arrays live in registers and every loop over rows is unrolled.
// Row i's FMAs are the same whatever `rows` is, so a ragged wrapper gives the full kernel's bits.
__attribute__((target("avx512f"), always_inline))
static inline void kernel_rows_x32(const int rows, const int stride, long kc, const float *a, const float *b, float *c,
                                   long ldc, int m, int n, int accumulate) {
    __m512 lo[FOVEA_AVX512_MAX_MR], hi[FOVEA_AVX512_MAX_MR];
    fovea_tile_begin(rows, lo, hi, c, ldc, m);

    long p = 0;
    for (; p + 4 <= kc; p += 4) {
        _mm_prefetch((const char *)(b + 32 * 8), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + 32 * 8 + 16), _MM_HINT_T0);
        // The A stream: 4 steps consume 4·stride floats (3 lines at MR = 12); fetch as many lines
        // FOVEA_A_PREFETCH_FLOATS ahead, which crosses into the next panels of the block.
#pragma clang loop unroll(full)
        for (int line = 0; line < (4 * stride + 15) / 16; ++line)
            _mm_prefetch((const char *)(a + FOVEA_A_PREFETCH_FLOATS + 16 * line), _MM_HINT_T0);
#pragma clang loop unroll(full)
        for (int u = 0; u < 4; ++u) {
            const __m512 b0 = _mm512_load_ps(b + 32 * u);
            const __m512 b1 = _mm512_load_ps(b + 32 * u + 16);
            FOVEA_TILE_FMA_STEP(rows, a[stride * u + i], b0, b1, lo, hi);
        }
        a += 4 * stride;
        b += 128;
    }
    for (; p < kc; ++p) {
        const __m512 b0 = _mm512_load_ps(b);
        const __m512 b1 = _mm512_load_ps(b + 16);
        FOVEA_TILE_FMA_STEP(rows, a[i], b0, b1, lo, hi);
        a += stride;
        b += 32;
    }

    __mmask16 maskLo, maskHi;
    fovea_tile_masks(n, &maskLo, &maskHi);
    fovea_store_tile(rows, lo, hi, c, ldc, m, maskLo, maskHi, accumulate);
}

// The full MR×32 kernels.
__attribute__((target("avx512f"), always_inline))
static inline void kernel_mrx32(const int mr, long kc, const float *a, const float *b, float *c, long ldc,
                                int m, int n, int accumulate) {
    kernel_rows_x32(mr, mr, kc, a, b, c, ldc, m, n, accumulate);
}

__attribute__((target("avx512f")))
void fovea_sgemm_kernel_8x32_avx512(long kc, const float *a, const float *b, float *c, long ldc,
                                    int m, int n, int accumulate) {
    kernel_mrx32(8, kc, a, b, c, ldc, m, n, accumulate);
}

__attribute__((target("avx512f")))
void fovea_sgemm_kernel_12x32_avx512(long kc, const float *a, const float *b, float *c, long ldc,
                                     int m, int n, int accumulate) {
    kernel_mrx32(12, kc, a, b, c, ldc, m, n, accumulate);
}

__attribute__((target("avx512f")))
void fovea_sgemm_kernel_14x32_avx512(long kc, const float *a, const float *b, float *c, long ldc,
                                     int m, int n, int accumulate) {
    kernel_mrx32(14, kc, a, b, c, ldc, m, n, accumulate);
}

__attribute__((target("avx512f")))
void fovea_sgemm_kernel_12x32_rows4_avx512(long kc, const float *a, const float *b, float *c, long ldc,
                                           int m, int n, int accumulate) {
    kernel_rows_x32(4, 12, kc, a, b, c, ldc, m, n, accumulate);
}

__attribute__((target("avx512f")))
void fovea_sgemm_kernel_12x32_rows8_avx512(long kc, const float *a, const float *b, float *c, long ldc,
                                           int m, int n, int accumulate) {
    kernel_rows_x32(8, 12, kc, a, b, c, ldc, m, n, accumulate);
}
