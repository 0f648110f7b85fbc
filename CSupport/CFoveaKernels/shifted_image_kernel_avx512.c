// The AVX-512 micro-kernel of the shifted-image convolution (Fovea's `ShiftedImageConvolution`):
// the 12×32 GEMM micro-kernel of sgemm_kernel_avx512.c with its B panel replaced by the image
// itself. For a stride-1 convolution over a zero-padded image of width Wp, row t of the implicit
// column matrix at "virtual" position j is image[offsets[t] + j], so the 32 B values of a step are
// one unaligned load pair at image + offsets[t] and nothing is packed.
#include "CFoveaKernels.h"
#include "tile_avx512.h"

#include <immintrin.h>

__attribute__((target("avx512f")))
void fovea_shifted_image_kernel_12x32_avx512(long kc, const float *a, const float *image, const int32_t *offsets,
                                             float *c, long ldc, int m, int n, int accumulate) {
    __m512 lo[12], hi[12];
    fovea_tile_begin(12, lo, hi, c, ldc, m);
    // Lanes past n are masked on load too: the image may end there.
    __mmask16 maskLo, maskHi;
    fovea_tile_masks(n, &maskLo, &maskHi);

    long p = 0;
    for (; p + 4 <= kc; p += 4) {
        // The rows of four steps ahead (offsets has FOVEA_SHIFTED_IMAGE_OFFSET_SLACK entries past kc).
        _mm_prefetch((const char *)(image + offsets[p + 8]), _MM_HINT_T0);
        _mm_prefetch((const char *)(image + offsets[p + 8] + 31), _MM_HINT_T0);
#pragma clang loop unroll(full)
        for (int u = 0; u < 4; ++u) {
            const float *row = image + offsets[p + u];
            const __m512 b0 = _mm512_maskz_loadu_ps(maskLo, row);
            const __m512 b1 = _mm512_maskz_loadu_ps(maskHi, row + 16);
            FOVEA_TILE_FMA_STEP(12, a[12 * u + i], b0, b1, lo, hi);
        }
        a += 48;
    }
    for (; p < kc; ++p) {
        const float *row = image + offsets[p];
        const __m512 b0 = _mm512_maskz_loadu_ps(maskLo, row);
        const __m512 b1 = _mm512_maskz_loadu_ps(maskHi, row + 16);
        FOVEA_TILE_FMA_STEP(12, a[i], b0, b1, lo, hi);
        a += 12;
    }

    fovea_store_tile(12, lo, hi, c, ldc, m, maskLo, maskHi, accumulate);
}
