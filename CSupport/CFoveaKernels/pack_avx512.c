// Packing of A for the 12-row AVX-512 micro-kernel: a 12-row sliver of a row-major matrix becomes
// `length` steps of 12 floats (column p of the sliver). Sixteen columns at a time are loaded as
// sixteen 16-float rows (rows past `rows` read as zero) and transposed in registers: interleave
// pairs of rows (unpack ps), then pairs of pairs (unpack pd), then the 128-bit lanes (shuffle f32x4).
#include "CFoveaKernels.h"

#include <immintrin.h>

__attribute__((target("avx512f")))
void fovea_pack_a12_avx512(const float *a, long lda, int rows, long length, float *out) {
    long p = 0;
    for (; p + 16 <= length; p += 16) {
        __m512 r[16], t[16], u[16];
#pragma clang loop unroll(full)
        for (int i = 0; i < 16; ++i) r[i] = i < rows && i < 12 ? _mm512_loadu_ps(a + i * lda + p) : _mm512_setzero_ps();
        // t[2k], t[2k+1]: rows 2k and 2k+1 interleaved (low and high halves of each 128-bit lane).
#pragma clang loop unroll(full)
        for (int k = 0; k < 8; ++k) {
            t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
            t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
        }
        // u[4k+m], lane L: rows 4k..4k+3 of column 4L+m.
#pragma clang loop unroll(full)
        for (int k = 0; k < 4; ++k) {
            const __m512d t0 = _mm512_castps_pd(t[4 * k]), t1 = _mm512_castps_pd(t[4 * k + 1]);
            const __m512d t2 = _mm512_castps_pd(t[4 * k + 2]), t3 = _mm512_castps_pd(t[4 * k + 3]);
            u[4 * k] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
            u[4 * k + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
            u[4 * k + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
            u[4 * k + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
        }
        // Column 4L+m: lane L of u[m], u[4+m], u[8+m], u[12+m]; store its first 12 rows.
#pragma clang loop unroll(full)
        for (int m = 0; m < 4; ++m) {
            const __m512 v0 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x44);
            const __m512 v1 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xEE);
            const __m512 v2 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x44);
            const __m512 v3 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xEE);
            _mm512_mask_storeu_ps(out + (p + m) * 12, 0x0FFF, _mm512_shuffle_f32x4(v0, v2, 0x88));
            _mm512_mask_storeu_ps(out + (p + 4 + m) * 12, 0x0FFF, _mm512_shuffle_f32x4(v0, v2, 0xDD));
            _mm512_mask_storeu_ps(out + (p + 8 + m) * 12, 0x0FFF, _mm512_shuffle_f32x4(v1, v3, 0x88));
            _mm512_mask_storeu_ps(out + (p + 12 + m) * 12, 0x0FFF, _mm512_shuffle_f32x4(v1, v3, 0xDD));
        }
    }
    for (; p < length; ++p) {
        for (int i = 0; i < 12; ++i) out[p * 12 + i] = i < rows ? a[i * lda + p] : 0.0f;
    }
}
