// Dot products of a few weight rows with up to eight input rows, for fully connected layers at
// small batch sizes: each weight row is read once, 16 floats at a time, and multiplied into one
// 16-lane accumulator per (weight row, input row) pair (fused multiply-add); the tail goes through
// masked loads; the lanes are added at the end. Several weight rows at once give the memory
// system several streams to fetch and reuse each input vector loaded from cache for all of them.
// Memory-bound on the weight: one pass over it at the machine's bandwidth.
#include "CFoveaKernels.h"

#include <immintrin.h>

// `wr` weight rows × `xr` input rows, both compile-time constants after inlining, so the wr·xr
// accumulators live in registers (wr·xr ≤ 24).
__attribute__((target("avx512f"), always_inline))
static inline void dot_block(const int wr, const int xr, const float *w, long ldw, const float *x, long ldx, long length,
                             float *sums) {
    __m512 acc[4][8];
#pragma clang loop unroll(full)
    for (int a = 0; a < wr; ++a)
#pragma clang loop unroll(full)
        for (int r = 0; r < xr; ++r) acc[a][r] = _mm512_setzero_ps();
    long i = 0;
    for (; i + 16 <= length; i += 16) {
        __m512 v[4];
#pragma clang loop unroll(full)
        for (int a = 0; a < wr; ++a) v[a] = _mm512_loadu_ps(w + a * ldw + i);
#pragma clang loop unroll(full)
        for (int r = 0; r < xr; ++r) {
            const __m512 u = _mm512_loadu_ps(x + r * ldx + i);
#pragma clang loop unroll(full)
            for (int a = 0; a < wr; ++a) acc[a][r] = _mm512_fmadd_ps(v[a], u, acc[a][r]);
        }
    }
    if (i < length) {
        const __mmask16 mask = (__mmask16)((1u << (length - i)) - 1);
        __m512 v[4];
#pragma clang loop unroll(full)
        for (int a = 0; a < wr; ++a) v[a] = _mm512_maskz_loadu_ps(mask, w + a * ldw + i);
#pragma clang loop unroll(full)
        for (int r = 0; r < xr; ++r) {
            const __m512 u = _mm512_maskz_loadu_ps(mask, x + r * ldx + i);
#pragma clang loop unroll(full)
            for (int a = 0; a < wr; ++a) acc[a][r] = _mm512_fmadd_ps(v[a], u, acc[a][r]);
        }
    }
#pragma clang loop unroll(full)
    for (int a = 0; a < wr; ++a)
#pragma clang loop unroll(full)
        for (int r = 0; r < xr; ++r) sums[a * 8 + r] = _mm512_reduce_add_ps(acc[a][r]);
}

#define FOVEA_DOT_CASE(WR, XR) \
    case XR: dot_block(WR, XR, w, ldw, x, ldx, length, sums); return;

__attribute__((target("avx512f")))
void fovea_dot_row_blocks_avx512(const float *w, long ldw, int weightRows, const float *x, long ldx, int rows, long length,
                                 float *sums) {
    if (weightRows == 4 && rows <= 4) {
        switch (rows) { FOVEA_DOT_CASE(4, 1) FOVEA_DOT_CASE(4, 2) FOVEA_DOT_CASE(4, 3) FOVEA_DOT_CASE(4, 4) }
    } else if (weightRows == 3) {
        switch (rows) {
            FOVEA_DOT_CASE(3, 1) FOVEA_DOT_CASE(3, 2) FOVEA_DOT_CASE(3, 3) FOVEA_DOT_CASE(3, 4)
            FOVEA_DOT_CASE(3, 5) FOVEA_DOT_CASE(3, 6) FOVEA_DOT_CASE(3, 7) FOVEA_DOT_CASE(3, 8)
        }
    } else if (weightRows == 2) {
        switch (rows) {
            FOVEA_DOT_CASE(2, 1) FOVEA_DOT_CASE(2, 2) FOVEA_DOT_CASE(2, 3) FOVEA_DOT_CASE(2, 4)
            FOVEA_DOT_CASE(2, 5) FOVEA_DOT_CASE(2, 6) FOVEA_DOT_CASE(2, 7) FOVEA_DOT_CASE(2, 8)
        }
    } else if (weightRows == 1) {
        switch (rows) {
            FOVEA_DOT_CASE(1, 1) FOVEA_DOT_CASE(1, 2) FOVEA_DOT_CASE(1, 3) FOVEA_DOT_CASE(1, 4)
            FOVEA_DOT_CASE(1, 5) FOVEA_DOT_CASE(1, 6) FOVEA_DOT_CASE(1, 7) FOVEA_DOT_CASE(1, 8)
        }
    }
    // 4 weight rows with more than 4 input rows, or more than 4 weight rows: blocks of 3 and fewer.
    if (rows < 1 || rows > 8 || weightRows < 1) return;
    for (int done = 0; done < weightRows; done += 3) {
        const int take = weightRows - done >= 3 ? 3 : weightRows - done;
        fovea_dot_row_blocks_avx512(w + done * ldw, ldw, take, x, ldx, rows, length, sums + done * 8);
    }
}
