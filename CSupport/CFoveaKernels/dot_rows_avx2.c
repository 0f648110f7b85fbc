// Dot products of a few weight rows with up to four input rows, for fully connected layers at
// small batch sizes on AVX2 + FMA CPUs (the AVX-512 version is dot_rows_avx512.c): each weight
// row is read once, 8 floats at a time, and multiplied into one 8-lane accumulator per (weight
// row, input row) pair; the tail goes through masked loads; the lanes are added at the end.
// At most 12 accumulators, so that they and the weight vectors fit the 16 ymm registers.
#include "CFoveaKernels.h"

#include <immintrin.h>

__attribute__((target("avx2,fma"), always_inline))
static inline float horizontal_sum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// `wr` weight rows × `xr` input rows, both compile-time constants after inlining (wr·xr ≤ 12).
__attribute__((target("avx2,fma"), always_inline))
static inline void dot_block(const int wr, const int xr, const float *w, long ldw, const float *x, long ldx, long length,
                             float *sums) {
    __m256 acc[4][4];
#pragma clang loop unroll(full)
    for (int a = 0; a < wr; ++a)
#pragma clang loop unroll(full)
        for (int r = 0; r < xr; ++r) acc[a][r] = _mm256_setzero_ps();
    long i = 0;
    for (; i + 8 <= length; i += 8) {
        __m256 v[4];
#pragma clang loop unroll(full)
        for (int a = 0; a < wr; ++a) v[a] = _mm256_loadu_ps(w + a * ldw + i);
#pragma clang loop unroll(full)
        for (int r = 0; r < xr; ++r) {
            const __m256 u = _mm256_loadu_ps(x + r * ldx + i);
#pragma clang loop unroll(full)
            for (int a = 0; a < wr; ++a) acc[a][r] = _mm256_fmadd_ps(v[a], u, acc[a][r]);
        }
    }
    if (i < length) {
        const int left = (int)(length - i);
        const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(left), lanes);
        __m256 v[4];
#pragma clang loop unroll(full)
        for (int a = 0; a < wr; ++a) v[a] = _mm256_maskload_ps(w + a * ldw + i, mask);
#pragma clang loop unroll(full)
        for (int r = 0; r < xr; ++r) {
            const __m256 u = _mm256_maskload_ps(x + r * ldx + i, mask);
#pragma clang loop unroll(full)
            for (int a = 0; a < wr; ++a) acc[a][r] = _mm256_fmadd_ps(v[a], u, acc[a][r]);
        }
    }
#pragma clang loop unroll(full)
    for (int a = 0; a < wr; ++a)
#pragma clang loop unroll(full)
        for (int r = 0; r < xr; ++r) sums[a * 8 + r] = horizontal_sum(acc[a][r]);
}

#define FOVEA_DOT_CASE(WR, XR) \
    case XR: dot_block(WR, XR, w, ldw, x, ldx, length, sums); return;

__attribute__((target("avx2,fma")))
void fovea_dot_row_blocks_avx2(const float *w, long ldw, int weightRows, const float *x, long ldx, int rows, long length,
                               float *sums) {
    if (weightRows == 4 && rows <= 3) {
        switch (rows) { FOVEA_DOT_CASE(4, 1) FOVEA_DOT_CASE(4, 2) FOVEA_DOT_CASE(4, 3) }
    } else if (weightRows == 3 && rows <= 4) {
        switch (rows) { FOVEA_DOT_CASE(3, 1) FOVEA_DOT_CASE(3, 2) FOVEA_DOT_CASE(3, 3) FOVEA_DOT_CASE(3, 4) }
    } else if (weightRows == 2 && rows <= 4) {
        switch (rows) { FOVEA_DOT_CASE(2, 1) FOVEA_DOT_CASE(2, 2) FOVEA_DOT_CASE(2, 3) FOVEA_DOT_CASE(2, 4) }
    } else if (weightRows == 1 && rows <= 4) {
        switch (rows) { FOVEA_DOT_CASE(1, 1) FOVEA_DOT_CASE(1, 2) FOVEA_DOT_CASE(1, 3) FOVEA_DOT_CASE(1, 4) }
    }
    // Any other block: up to 3 weight rows × 4 input rows at a time (the sums keep their places).
    if (rows < 1 || rows > 8 || weightRows < 1) return;
    for (int done = 0; done < weightRows; done += 3) {
        const int take = weightRows - done >= 3 ? 3 : weightRows - done;
        for (int first = 0; first < rows; first += 4) {
            const int count = rows - first >= 4 ? 4 : rows - first;
            float part[3 * 8];
            fovea_dot_row_blocks_avx2(w + done * ldw, ldw, take, x + first * ldx, ldx, count, length, part);
            for (int a = 0; a < take; ++a)
                for (int r = 0; r < count; ++r) sums[(done + a) * 8 + first + r] = part[a * 8 + r];
        }
    }
}
