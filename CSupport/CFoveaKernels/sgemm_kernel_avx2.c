// The AVX2+FMA GEMM micro-kernel. Twelve 8-wide accumulators hold a 6×16 tile of C; each step
// broadcasts one element of A per row and multiplies it with two 8-wide vectors of B.
// Twelve independent FMA chains cover the FMA latency (4 cycles × 2 pipes = 8 in flight).
#include "CFoveaKernels.h"

#include <immintrin.h>

int fovea_cpu_has_avx2_fma(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached;
}

#define STEP(offset)                                                         \
    do {                                                                     \
        const __m256 b0 = _mm256_load_ps(b + 16 * (offset));                 \
        const __m256 b1 = _mm256_load_ps(b + 16 * (offset) + 8);             \
        __m256 av = _mm256_broadcast_ss(a + 6 * (offset) + 0);               \
        c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01); \
        av = _mm256_broadcast_ss(a + 6 * (offset) + 1);                      \
        c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11); \
        av = _mm256_broadcast_ss(a + 6 * (offset) + 2);                      \
        c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21); \
        av = _mm256_broadcast_ss(a + 6 * (offset) + 3);                      \
        c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31); \
        av = _mm256_broadcast_ss(a + 6 * (offset) + 4);                      \
        c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41); \
        av = _mm256_broadcast_ss(a + 6 * (offset) + 5);                      \
        c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51); \
    } while (0)

__attribute__((target("avx2,fma")))
void fovea_sgemm_kernel_6x16_avx2(long kc, const float *a, const float *b, float *c, long ldc,
                                  int m, int n, int accumulate) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();

    long p = 0;
    for (; p + 4 <= kc; p += 4) {
        _mm_prefetch((const char *)(b + 64 * 4), _MM_HINT_T0);
        STEP(0); STEP(1); STEP(2); STEP(3);
        a += 24;
        b += 64;
    }
    for (; p < kc; ++p) {
        STEP(0);
        a += 6;
        b += 16;
    }

    __m256 rows[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    if (m == 6 && n == 16) {
        for (int i = 0; i < 6; ++i) {
            float *row = c + i * ldc;
            if (accumulate) {
                rows[i][0] = _mm256_add_ps(rows[i][0], _mm256_loadu_ps(row));
                rows[i][1] = _mm256_add_ps(rows[i][1], _mm256_loadu_ps(row + 8));
            }
            _mm256_storeu_ps(row, rows[i][0]);
            _mm256_storeu_ps(row + 8, rows[i][1]);
        }
        return;
    }
    float tile[6][16] __attribute__((aligned(32)));
    for (int i = 0; i < 6; ++i) {
        _mm256_store_ps(tile[i], rows[i][0]);
        _mm256_store_ps(tile[i] + 8, rows[i][1]);
    }
    for (int i = 0; i < m; ++i) {
        float *row = c + i * ldc;
        if (accumulate) {
            for (int j = 0; j < n; ++j) row[j] += tile[i][j];
        } else {
            for (int j = 0; j < n; ++j) row[j] = tile[i][j];
        }
    }
}
