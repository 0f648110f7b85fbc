// The AVX2+FMA micro-kernel of the shifted-image convolution (Fovea's `ShiftedImageConvolution`):
// the 6×16 GEMM micro-kernel of sgemm_kernel_avx2.c with its B panel replaced by the image itself.
// Row t of the implicit column matrix at virtual position j is image[offsets[t] + j], so the 16 B
// values of a step are two unaligned 8-wide loads at image + offsets[t] and nothing is packed.
// The FMAs are those of fovea_sgemm_kernel_6x16_avx2, in the same order.
#include "CFoveaKernels.h"

#include <immintrin.h>

// Lanes 0..<n (n ≤ 8, negative counts as 0) of an 8-wide vector, as a maskload/maskstore mask.
__attribute__((target("avx2")))
static inline __m256i lanes_below(int n) {
    const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), index);
}

#define ROW_FMAS(i, av, b0, b1)                                              \
    do {                                                                     \
        c[i][0] = _mm256_fmadd_ps(av, b0, c[i][0]);                          \
        c[i][1] = _mm256_fmadd_ps(av, b1, c[i][1]);                          \
    } while (0)

#define STEP(b0, b1, ap)                                                     \
    do {                                                                     \
        __m256 av;                                                           \
        av = _mm256_broadcast_ss((ap) + 0); ROW_FMAS(0, av, b0, b1);         \
        av = _mm256_broadcast_ss((ap) + 1); ROW_FMAS(1, av, b0, b1);         \
        av = _mm256_broadcast_ss((ap) + 2); ROW_FMAS(2, av, b0, b1);         \
        av = _mm256_broadcast_ss((ap) + 3); ROW_FMAS(3, av, b0, b1);         \
        av = _mm256_broadcast_ss((ap) + 4); ROW_FMAS(4, av, b0, b1);         \
        av = _mm256_broadcast_ss((ap) + 5); ROW_FMAS(5, av, b0, b1);         \
    } while (0)

__attribute__((target("avx2,fma")))
void fovea_shifted_image_kernel_6x16_avx2(long kc, const float *a, const float *image, const int32_t *offsets,
                                          float *c0, long ldc, int m, int n, int accumulate) {
    __m256 c[6][2];
    for (int i = 0; i < 6; ++i) c[i][0] = c[i][1] = _mm256_setzero_ps();
    for (int i = 0; i < m; ++i) _mm_prefetch((const char *)(c0 + i * ldc), _MM_HINT_T0);

    if (n >= 16) {
        long p = 0;
        for (; p + 4 <= kc; p += 4) {
            // The row four steps ahead (offsets has FOVEA_SHIFTED_IMAGE_OFFSET_SLACK entries past kc).
            _mm_prefetch((const char *)(image + offsets[p + 8]), _MM_HINT_T0);
            _mm_prefetch((const char *)(image + offsets[p + 8] + 15), _MM_HINT_T0);
            for (int u = 0; u < 4; ++u) {
                const float *row = image + offsets[p + u];
                const __m256 b0 = _mm256_loadu_ps(row), b1 = _mm256_loadu_ps(row + 8);
                STEP(b0, b1, a + 6 * u);
            }
            a += 24;
        }
        for (; p < kc; ++p) {
            const float *row = image + offsets[p];
            const __m256 b0 = _mm256_loadu_ps(row), b1 = _mm256_loadu_ps(row + 8);
            STEP(b0, b1, a);
            a += 6;
        }
    } else {
        // Lanes past n are masked on load: the image may end there.
        const __m256i low = lanes_below(n), high = lanes_below(n - 8);
        for (long p = 0; p < kc; ++p) {
            const float *row = image + offsets[p];
            const __m256 b0 = _mm256_maskload_ps(row, low), b1 = _mm256_maskload_ps(row + 8, high);
            STEP(b0, b1, a);
            a += 6;
        }
    }

    const __m256i low = lanes_below(n), high = lanes_below(n - 8);
    for (int i = 0; i < m; ++i) {
        float *row = c0 + i * ldc;
        __m256 x = c[i][0], y = c[i][1];
        if (n >= 16) {
            if (accumulate) {
                x = _mm256_add_ps(x, _mm256_loadu_ps(row));
                y = _mm256_add_ps(y, _mm256_loadu_ps(row + 8));
            }
            _mm256_storeu_ps(row, x);
            _mm256_storeu_ps(row + 8, y);
        } else {
            if (accumulate) {
                x = _mm256_add_ps(x, _mm256_maskload_ps(row, low));
                y = _mm256_add_ps(y, _mm256_maskload_ps(row + 8, high));
            }
            _mm256_maskstore_ps(row, low, x);
            _mm256_maskstore_ps(row + 8, high, y);
        }
    }
}
