// One phase plane of a channel for the shifted image (Fovea's `ShiftedImageConvolution.splitIntoPhases`):
// plane[i, j] = source[sh·i + a − ph, sw·j + b − pw], zero outside the image, for a column stride
// sw of 1 or 2, sixteen columns at a time with masked loads and stores — no call per row, which
// on DenseNet's 16-wide planes cost more than the copying.
#include "CFoveaKernels.h"

#include <immintrin.h>

// The lanes l < 16 with 0 ≤ first + l < limit.
__attribute__((target("avx512f"), always_inline))
static inline __mmask16 lanes_within(long first, long limit) {
    const long from = first < 0 ? -first : 0;
    const long to = limit - first < 16 ? limit - first : 16;
    if (to <= from) return 0;
    return (__mmask16)(((1u << to) - 1) & ~((1u << from) - 1));
}

__attribute__((target("avx512f")))
void fovea_phase_plane_avx512(const float *source, long height, long width, long rowStride, long columnStride, long firstRow,
                              long firstColumn, long planeHeight, long planeWidth, float *plane) {
    const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512 zero = _mm512_setzero_ps();
    for (long i = 0; i < planeHeight; ++i) {
        float *line = plane + i * planeWidth;
        const long row = rowStride * i + firstRow;
        const int inside = row >= 0 && row < height;
        const float *input = source + row * width;
        for (long j = 0; j < planeWidth; j += 16) {
            const __mmask16 store = planeWidth - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (planeWidth - j)) - 1);
            __m512 v = zero;
            if (inside) {
                const long column = columnStride * j + firstColumn;
                if (columnStride == 1) {
                    v = _mm512_maskz_loadu_ps(lanes_within(column, width), input + column);
                } else {
                    const __m512 low = _mm512_maskz_loadu_ps(lanes_within(column, width), input + column);
                    const __m512 high = _mm512_maskz_loadu_ps(lanes_within(column + 16, width), input + column + 16);
                    v = _mm512_permutex2var_ps(low, evens, high);
                }
            }
            _mm512_mask_storeu_ps(line + j, store, v);
        }
    }
}
