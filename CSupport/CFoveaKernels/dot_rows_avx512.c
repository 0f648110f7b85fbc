// Dot products of one weight row with up to eight input rows, for fully connected layers at small
// batch sizes: the weight row is read once, 16 floats at a time, and multiplied into one 16-lane
// accumulator per input row (fused multiply-add); the tail goes through masked loads; the lanes are
// added at the end. Memory-bound on the weight: one pass over it at the machine's bandwidth.
#include "CFoveaKernels.h"

#include <immintrin.h>

__attribute__((target("avx512f")))
void fovea_dot_rows_avx512(const float *w, const float *x, long length, long ldx, int rows, float *sums) {
    __m512 acc[8];
    for (int r = 0; r < 8; ++r) acc[r] = _mm512_setzero_ps();
    long i = 0;
    for (; i + 16 <= length; i += 16) {
        const __m512 v = _mm512_loadu_ps(w + i);
        for (int r = 0; r < rows; ++r) acc[r] = _mm512_fmadd_ps(v, _mm512_loadu_ps(x + r * ldx + i), acc[r]);
    }
    if (i < length) {
        const __mmask16 mask = (__mmask16)((1u << (length - i)) - 1);
        const __m512 v = _mm512_maskz_loadu_ps(mask, w + i);
        for (int r = 0; r < rows; ++r) acc[r] = _mm512_fmadd_ps(v, _mm512_maskz_loadu_ps(mask, x + r * ldx + i), acc[r]);
    }
    for (int r = 0; r < rows; ++r) sums[r] = _mm512_reduce_add_ps(acc[r]);
}
