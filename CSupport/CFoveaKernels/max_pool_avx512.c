// The AVX-512 kernel of the Dispatch device's max pooling forward: a run of one output row's
// windows, 16 at a time, each window's maximum and the plane index it came from, by the rule of
// NaiveDevice.maxPool2dForward (the first tap in row-major window order, replaced by any strictly
// larger tap or any NaN).
#include "CFoveaKernels.h"

#include <immintrin.h>

// Lanes l < count of x[first + l·stride], stride 1 or 2, read through masks (nothing past them).
__attribute__((target("avx512f"), always_inline))
static inline __m512 load_strided(const float *first, int stride, int count) {
    if (stride == 1) return _mm512_maskz_loadu_ps(count >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << count) - 1), first);
    // Even lanes of 32 floats: output l reads first[2l], so the low load holds outputs 0..7 and
    // the high one outputs 8..15.
    unsigned lowLive = 0, highLive = 0;
    for (int l = 0; l < 8; ++l) {
        if (l < count) lowLive |= 1u << (2 * l);
        if (l + 8 < count) highLive |= 1u << (2 * l);
    }
    const __m512 low = _mm512_maskz_loadu_ps((__mmask16)lowLive, first);
    const __m512 high = _mm512_maskz_loadu_ps((__mmask16)highLive, first + 16);
    const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(low, evens, high);
}

// The row's windows, with the argmax (`withArgmax`, a compile-time constant after inlining) or
// without it: the same comparisons and blends of the values either way, so the same outputs.
__attribute__((target("avx512f"), always_inline))
static inline void max_pool_row(const int withArgmax, const float *plane, long width, long firstRow, int rowTaps, long rowStep,
                                long firstColumn, int kernel, int stride, int count, float *out, int32_t *argmax) {
    const __m512i lanes = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                             _mm512_set1_epi32(stride));
    for (int q = 0; q < count; q += 16) {
        const int live = count - q < 16 ? count - q : 16;
        const long column = firstColumn + (long)q * stride;
        __m512 best = _mm512_setzero_ps();
        __m512i chosen = _mm512_setzero_si512();
        for (int i = 0; i < rowTaps; ++i) {
            const long rowStart = (firstRow + i * rowStep) * width;
            for (int j = 0; j < kernel; ++j) {
                const long index = rowStart + column + j;
                const __m512 value = load_strided(plane + index, stride, live);
                if (i == 0 && j == 0) {
                    best = value;
                    if (withArgmax) chosen = _mm512_add_epi32(_mm512_set1_epi32((int)index), lanes);
                    continue;
                }
                const __mmask16 takes = _mm512_cmp_ps_mask(value, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(value, value, _CMP_UNORD_Q);
                best = _mm512_mask_blend_ps(takes, best, value);
                if (withArgmax) chosen = _mm512_mask_blend_epi32(takes, chosen, _mm512_add_epi32(_mm512_set1_epi32((int)index), lanes));
            }
        }
        const __mmask16 store = live >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << live) - 1);
        _mm512_mask_storeu_ps(out + q, store, best);
        if (withArgmax) _mm512_mask_storeu_epi32(argmax + q, store, chosen);
    }
}

__attribute__((target("avx512f")))
void fovea_max_pool_row_avx512(const float *plane, long width, long firstRow, int rowTaps, long rowStep, long firstColumn,
                               int kernel, int stride, int count, float *out, int32_t *argmax) {
    if (argmax) {
        max_pool_row(1, plane, width, firstRow, rowTaps, rowStep, firstColumn, kernel, stride, count, out, argmax);
    } else {
        max_pool_row(0, plane, width, firstRow, rowTaps, rowStep, firstColumn, kernel, stride, count, out, NULL);
    }
}
