// Transposing panel packing for the AVX-512 GEMM: `rows` rows of a row-major matrix (row stride
// lda) become `length` steps of `width` floats, step p holding column p of those rows, zero past
// `rows`. This packs A (non-transposed, width 12) and op(B) = Bᵀ (width 32) for the 12×32 kernel.
// Sixteen columns at a time, each block of sixteen rows (rows past `rows` read as zero) is
// transposed in registers: interleave pairs of rows (unpack ps), pairs of pairs (unpack pd), then
// the 128-bit lanes (shuffle f32x4).
#include "CFoveaKernels.h"

#include <immintrin.h>

// Transposes r[0..<16] (16 floats each) and stores column c's `lanes` first values at out + c·width.
__attribute__((target("avx512f"), always_inline))
static inline void transpose_store(const __m512 *r, float *out, long width, __mmask16 lanes) {
    __m512 t[16], u[16];
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
    // Column 4L+m is lane L of u[m], u[4+m], u[8+m], u[12+m].
#pragma clang loop unroll(full)
    for (int m = 0; m < 4; ++m) {
        const __m512 v0 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x44);
        const __m512 v1 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xEE);
        const __m512 v2 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x44);
        const __m512 v3 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xEE);
        _mm512_mask_storeu_ps(out + m * width, lanes, _mm512_shuffle_f32x4(v0, v2, 0x88));
        _mm512_mask_storeu_ps(out + (4 + m) * width, lanes, _mm512_shuffle_f32x4(v0, v2, 0xDD));
        _mm512_mask_storeu_ps(out + (8 + m) * width, lanes, _mm512_shuffle_f32x4(v1, v3, 0x88));
        _mm512_mask_storeu_ps(out + (12 + m) * width, lanes, _mm512_shuffle_f32x4(v1, v3, 0xDD));
    }
}

__attribute__((target("avx512f")))
void fovea_pack_transposed_avx512(const float *a, long lda, int rows, long length, int width, float *out) {
    long p = 0;
    for (; p + 16 <= length; p += 16) {
        for (int block = 0; block < width; block += 16) {
            __m512 r[16];
#pragma clang loop unroll(full)
            for (int i = 0; i < 16; ++i) {
                r[i] = block + i < rows ? _mm512_loadu_ps(a + (block + i) * lda + p) : _mm512_setzero_ps();
            }
            const int lanes = width - block < 16 ? width - block : 16;
            transpose_store(r, out + p * width + block, width, (__mmask16)((1u << lanes) - 1));
        }
    }
    for (; p < length; ++p) {
        for (int i = 0; i < width; ++i) out[p * width + i] = i < rows ? a[i * lda + p] : 0.0f;
    }
}
