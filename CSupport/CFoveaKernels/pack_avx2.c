// Transposing panel packing for the AVX2 GEMM, as pack_avx512.c is for AVX-512: `rows` rows of a
// row-major matrix (row stride lda) become `length` steps of `width` floats, step p holding
// column p of those rows, zero past `rows`. This packs A (non-transposed, width 6) and
// op(B) = Bᵀ (width 16) for the 6×16 kernel. Eight columns at a time, each block of eight rows
// (rows past `rows` read as zero) is transposed in registers: interleave pairs of rows (unpack
// ps), pairs of pairs (shuffle ps), then the 128-bit halves (permute2f128).
#include "CFoveaKernels.h"

#include <immintrin.h>

// Transposes r[0..<8] (8 floats each) and stores column c's first `lanes` values at out + c·width
// (all 8 where `lanes` is 8, else under `mask`).
__attribute__((target("avx2,fma"), always_inline))
static inline void transpose_store(const __m256 *r, float *out, long width, int lanes, __m256i mask) {
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    // u[m] (m < 4) holds rows 0..3 of columns m and 4 + m; u[4 + m] rows 4..7 of the same columns.
    __m256 u[8];
    u[0] = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    u[1] = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    u[2] = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    u[3] = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    u[4] = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    u[5] = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    u[6] = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    u[7] = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
#pragma clang loop unroll(full)
    for (int m = 0; m < 4; ++m) {
        const __m256 low = _mm256_permute2f128_ps(u[m], u[4 + m], 0x20);
        const __m256 high = _mm256_permute2f128_ps(u[m], u[4 + m], 0x31);
        if (lanes == 8) {
            _mm256_storeu_ps(out + m * width, low);
            _mm256_storeu_ps(out + (4 + m) * width, high);
        } else {
            _mm256_maskstore_ps(out + m * width, mask, low);
            _mm256_maskstore_ps(out + (4 + m) * width, mask, high);
        }
    }
}

__attribute__((target("avx2,fma")))
void fovea_pack_transposed_avx2(const float *a, long lda, int rows, long length, int width, float *out) {
    long p = 0;
    for (; p + 8 <= length; p += 8) {
        for (int block = 0; block < width; block += 8) {
            __m256 r[8];
#pragma clang loop unroll(full)
            for (int i = 0; i < 8; ++i) {
                r[i] = block + i < rows ? _mm256_loadu_ps(a + (block + i) * lda + p) : _mm256_setzero_ps();
            }
            const int lanes = width - block < 8 ? width - block : 8;
            const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            transpose_store(r, out + p * width + block, width, lanes, mask);
        }
    }
    for (; p < length; ++p) {
        for (int i = 0; i < width; ++i) out[p * width + i] = i < rows ? a[i * lda + p] : 0.0f;
    }
}
