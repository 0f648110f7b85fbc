// The AVX-512 micro-kernel of the shifted-image backward-filter (Fovea's
// `ShiftedImageBackwardFilter`): the 12×32 GEMM micro-kernel of sgemm_kernel_avx512.c with its A
// panel replaced by the image. The product is ∂Wᵀ [taps × K] = col [taps × positions] · ∂yᵀ; row i
// of col, for a stride-1 convolution over a zero-padded image of width Wp, is the image itself
// from offset rows[i], one value per virtual position, so step p broadcasts image[rows[i] + p]
// for each of the 12 rows and nothing is packed on the image side.
#include "CFoveaKernels.h"
#include "tile_avx512.h"

#include <immintrin.h>

__attribute__((target("avx512f")))
void fovea_shifted_rows_kernel_12x32_avx512(long kc, const float *image, const int32_t *rows, const float *b,
                                            float *c, long ldc, int m, int n, int accumulate) {
    const float *row[12];
#pragma clang loop unroll(full)
    for (int i = 0; i < 12; ++i) row[i] = image + rows[i < m ? i : 0];  // rows past m repeat row 0 (computed, never stored)
    __m512 lo[12], hi[12];
    fovea_tile_begin(12, lo, hi, c, ldc, m);

    for (long p = 0; p < kc; ++p) {
        const __m512 b0 = _mm512_load_ps(b + 32 * p);
        const __m512 b1 = _mm512_load_ps(b + 32 * p + 16);
        FOVEA_TILE_FMA_STEP(12, row[i][p], b0, b1, lo, hi);
    }

    __mmask16 maskLo, maskHi;
    fovea_tile_masks(n, &maskLo, &maskHi);
    fovea_store_tile(12, lo, hi, c, ldc, m, maskLo, maskHi, accumulate);
}
