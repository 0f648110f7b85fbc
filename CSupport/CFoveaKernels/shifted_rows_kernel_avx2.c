// The AVX2+FMA micro-kernel of the shifted-image backward-filter (Fovea's
// `ShiftedImageBackwardFilter`), as shifted_rows_kernel_avx512.c is for AVX-512: a 6×16 tile of
// ∂Wᵀ [taps × K] = col [taps × positions] · ∂yᵀ whose A panel is the image itself. Row i of col,
// for a stride-1 convolution over a zero-padded image, is the image from offset rows[i], so step p
// broadcasts image[rows[i] + p] for each of the 6 rows; B is kc steps of 16 floats (∂yᵀ).
#include "CFoveaKernels.h"

#include <immintrin.h>

__attribute__((target("avx2,fma")))
void fovea_shifted_rows_kernel_6x16_avx2(long kc, const float *image, const int32_t *rows, const float *b,
                                         float *c, long ldc, int m, int n, int accumulate) {
    const float *row[6];
#pragma clang loop unroll(full)
    for (int i = 0; i < 6; ++i) row[i] = image + rows[i < m ? i : 0];  // rows past m repeat row 0 (computed, never stored)
    __m256 left[6], right[6];
#pragma clang loop unroll(full)
    for (int i = 0; i < 6; ++i) left[i] = right[i] = _mm256_setzero_ps();

    for (long p = 0; p < kc; ++p) {
        const __m256 b0 = _mm256_loadu_ps(b + 16 * p), b1 = _mm256_loadu_ps(b + 16 * p + 8);
#pragma clang loop unroll(full)
        for (int i = 0; i < 6; ++i) {
            const __m256 a = _mm256_broadcast_ss(row[i] + p);
            left[i] = _mm256_fmadd_ps(a, b0, left[i]);
            right[i] = _mm256_fmadd_ps(a, b1, right[i]);
        }
    }

    // Columns from n on are neither read nor written.
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i maskLeft = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
    const __m256i maskRight = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - 8), lane);
    for (int i = 0; i < m; ++i) {
        float *out = c + i * ldc;
        __m256 x = left[i], y = right[i];
        if (accumulate) {
            x = _mm256_add_ps(x, _mm256_maskload_ps(out, maskLeft));
            y = _mm256_add_ps(y, _mm256_maskload_ps(out + 8, maskRight));
        }
        _mm256_maskstore_ps(out, maskLeft, x);
        _mm256_maskstore_ps(out + 8, maskRight, y);
    }
}
