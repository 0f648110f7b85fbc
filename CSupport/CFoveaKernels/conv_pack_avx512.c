// Packs one 32-column panel of a convolution's implicit column matrix (the GEMM's B operand), or a
// plain im2col block 32 columns at a time,
// straight from an NCHW image, for the AVX-512 12×32 kernel. See `ConvolutionPacking.swift` for the
// matrix: col[t, j] = x[c, p·sh − ph + r·dh, q·sw − pw + s·dw] (0 outside the image), tap
// t = (c·R + r)·S + s, column j = p·Q + q.
//
// The panel's 32 lanes are fixed output positions, so for each lane we keep its p·sh and q·sw in
// two vectors of 16; a step (one tap) adds the tap's shifts, compares the resulting input row and
// column against the image (unsigned compares catch both ends) and so gets the mask of lanes that
// read the image; the others become zero.
//   - Stride 1 across: the lanes of one output row read one contiguous stretch of an input row,
//     so each such run of lanes is one masked load per half (no gather).
//   - Stride 2 across: the same, loading each run's span under a mask of the even elements
//     it needs and keeping those (a permute); a gather is several times slower.
//   - Stride 4 across (AlexNet conv1): four masked loads of the span and two permutes per half.
//   - Other strides: one masked gather per half.
#include "CFoveaKernels.h"
#include "im2col_walk.h"

#include <immintrin.h>
#include <stdint.h>

// Bit i of x (i < 16) moved to bit 2i.
static inline uint32_t spread_to_even_bits(uint32_t x) {
    x = (x | (x << 8)) & 0x00FF00FFu;
    x = (x | (x << 4)) & 0x0F0F0F0Fu;
    x = (x | (x << 2)) & 0x33333333u;
    return (x | (x << 1)) & 0x55555555u;
}

// Steps firstTap..<firstTap+depth of columns firstColumn..<firstColumn+live (live ≤ 32): step i
// goes to out + i·ldo, lane by lane; lanes past `live` are written as zeros when `storeAll`,
// else left alone.
// Bit i of x (i < 16) moved to bit 4i.
static inline uint64_t spread_to_every_fourth_bit(uint32_t bits) {
    uint64_t x = bits & 0xFFFFu;
    x = (x | (x << 24)) & 0x000000FF000000FFull;
    x = (x | (x << 12)) & 0x000F000F000F000Full;
    x = (x | (x << 6)) & 0x0303030303030303ull;
    return (x | (x << 3)) & 0x1111111111111111ull;
}

// Lanes l < 16 of `lanes` get span[sw·l] (sw = 2 or 4), the others zero: the 16·sw floats are
// loaded under a mask of the elements needed (no other element is read) and every sw-th kept.
__attribute__((target("avx512f"), always_inline))
static inline __m512 strided_half(const float *span, uint32_t lanes, long sw) {
    if (sw == 2) {
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        const uint32_t elements = spread_to_even_bits(lanes);
        return _mm512_permutex2var_ps(_mm512_maskz_loadu_ps((__mmask16)elements, span), even,
                                      _mm512_maskz_loadu_ps((__mmask16)(elements >> 16), span + 16));
    }
    const __m512i fourth = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0);
    const uint64_t elements = spread_to_every_fourth_bit(lanes);
    const __m512 first = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps((__mmask16)elements, span), fourth,
                                                _mm512_maskz_loadu_ps((__mmask16)(elements >> 16), span + 16));
    const __m512 second = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps((__mmask16)(elements >> 32), span + 32), fourth,
                                                 _mm512_maskz_loadu_ps((__mmask16)(elements >> 48), span + 48));
    return _mm512_shuffle_f32x4(first, second, 0x44);  // lanes 0–7 of each
}

__attribute__((target("avx512f"), always_inline))
static inline void pack_columns(const fovea_convolution_window *g, const float *image, long firstColumn, int live,
                                long firstTap, long depth, float *out, long ldo, int storeAll) {
    const long width = g->width, q = g->outputWidth, plane = g->height * width;
    const long sh = g->strideHeight, sw = g->strideWidth;
    const uint32_t liveMask = live >= 32 ? 0xFFFFFFFFu : ((1u << live) - 1u);
    const __mmask16 store0 = storeAll ? 0xFFFF : (__mmask16)liveMask, store1 = storeAll ? 0xFFFF : (__mmask16)(liveMask >> 16);

    // Lane i: column j = firstColumn + i → (image, p, q) (columns run over the images one after
    // another, P·Q each); its image row/column before shifts, and its image's offset.
    int32_t rowOrigin[32], columnOrigin[32], imageOrigin[32];
    // Runs of lanes in one output row of one image: lane mask, the image's offset, its image row,
    // and the input column of the first lane minus that lane's offset (so lane i reads column
    // `runColumn + i·sw` of its row, before shifts).
    uint32_t runMask[32];
    long runColumn[32], runRow[32], runImage[32];
    int runCount = 0;
    const long positions = g->outputHeight * q;
    long n = firstColumn / positions, p = (firstColumn % positions) / q, column = firstColumn % q;
    for (int i = 0; i < 32; ++i) {
        if (i < live) {
            if (i == 0 || column == 0) {
                runMask[runCount] = 0;
                runImage[runCount] = n * g->imageSize;
                runRow[runCount] = p * sh;
                runColumn[runCount] = (column - i) * sw;
                runCount += 1;
            }
            runMask[runCount - 1] |= 1u << i;
            rowOrigin[i] = (int32_t)(p * sh);
            columnOrigin[i] = (int32_t)(column * sw);
            imageOrigin[i] = (int32_t)(n * g->imageSize);
            if (++column == q) {
                column = 0;
                if (++p == g->outputHeight) { p = 0; n += 1; }
            }
        } else {
            rowOrigin[i] = 0;
            columnOrigin[i] = 0;
            imageOrigin[i] = 0;
        }
    }
    const __m512i rows0 = _mm512_loadu_si512(rowOrigin), rows1 = _mm512_loadu_si512(rowOrigin + 16);
    const __m512i columns0 = _mm512_loadu_si512(columnOrigin), columns1 = _mm512_loadu_si512(columnOrigin + 16);
    const __m512i heightVector = _mm512_set1_epi32((int32_t)g->height), widthVector = _mm512_set1_epi32((int32_t)width);
    // For the gather: lane offsets rowOrigin·W + columnOrigin within a channel.
    const __m512i offsets0 = _mm512_add_epi32(_mm512_add_epi32(_mm512_mullo_epi32(rows0, widthVector), columns0),
                                              _mm512_loadu_si512(imageOrigin));
    const __m512i offsets1 = _mm512_add_epi32(_mm512_add_epi32(_mm512_mullo_epi32(rows1, widthVector), columns1),
                                              _mm512_loadu_si512(imageOrigin + 16));


    const long kw = g->kernelWidth, kh = g->kernelHeight;
    long s = firstTap % kw, r = (firstTap / kw) % kh, c = firstTap / (kw * kh);
    for (long step = 0; step < depth; ++step) {
        const long rowShift = r * g->dilationHeight - g->padHeight;
        const long columnShift = s * g->dilationWidth - g->padWidth;
        const float *channel = image + c * plane;
        const __m512i rowShiftVector = _mm512_set1_epi32((int32_t)rowShift);
        const __m512i columnShiftVector = _mm512_set1_epi32((int32_t)columnShift);
        const __mmask16 valid0 = (__mmask16)liveMask
            & _mm512_cmplt_epu32_mask(_mm512_add_epi32(rows0, rowShiftVector), heightVector)
            & _mm512_cmplt_epu32_mask(_mm512_add_epi32(columns0, columnShiftVector), widthVector);
        const __mmask16 valid1 = (__mmask16)(liveMask >> 16)
            & _mm512_cmplt_epu32_mask(_mm512_add_epi32(rows1, rowShiftVector), heightVector)
            & _mm512_cmplt_epu32_mask(_mm512_add_epi32(columns1, columnShiftVector), widthVector);
        __m512 half0 = _mm512_setzero_ps(), half1 = _mm512_setzero_ps();
        if (sw == 1) {
            const uint32_t valid = (uint32_t)valid0 | ((uint32_t)valid1 << 16);
            for (int run = 0; run < runCount; ++run) {
                const uint32_t lanes = valid & runMask[run];
                if (lanes == 0) continue;
                // Lane i of this run reads source[i]; masked-off lanes are not read.
                const float *source = channel + runImage[run] + (runRow[run] + rowShift) * width + runColumn[run] + columnShift;
                if (lanes & 0xFFFFu) half0 = _mm512_mask_loadu_ps(half0, (__mmask16)lanes, source);
                if (lanes >> 16) half1 = _mm512_mask_loadu_ps(half1, (__mmask16)(lanes >> 16), source + 16);
                // The next panel reads on along the same input rows: fetch them ahead (on large
                // images they are not in L2 yet, and this is worth a third of the layer's time).
                _mm_prefetch((const char *)(source + 32), _MM_HINT_T0);
                _mm_prefetch((const char *)(source + 48), _MM_HINT_T0);
            }
        } else if (sw == 2 || sw == 4) {
            // Lane i of a run reads source[sw·i]: per half, the run's span (16·sw floats) is loaded
            // under a mask of the elements its lanes need and every sw-th element kept.
            const uint32_t valid = (uint32_t)valid0 | ((uint32_t)valid1 << 16);
            for (int run = 0; run < runCount; ++run) {
                const uint32_t lanes = valid & runMask[run];
                if (lanes == 0) continue;
                const float *source = channel + runImage[run] + (runRow[run] + rowShift) * width + runColumn[run] + columnShift;
                _mm_prefetch((const char *)(source + 32 * sw), _MM_HINT_T0);
                _mm_prefetch((const char *)(source + 32 * sw + 16), _MM_HINT_T0);
                const uint32_t lanes0 = lanes & 0xFFFFu, lanes1 = lanes >> 16;
                // Literal strides, so that each call is inlined for its own stride.
                const __m512 low = !lanes0 ? half0 : sw == 2 ? strided_half(source, lanes0, 2) : strided_half(source, lanes0, 4);
                const __m512 high = !lanes1 ? half1 : sw == 2 ? strided_half(source + 32, lanes1, 2) : strided_half(source + 64, lanes1, 4);
                half0 = _mm512_mask_mov_ps(half0, (__mmask16)lanes0, low);
                half1 = _mm512_mask_mov_ps(half1, (__mmask16)lanes1, high);
            }
        } else {
            const __m512i shift = _mm512_set1_epi32((int32_t)(rowShift * width + columnShift));
            half0 = _mm512_mask_i32gather_ps(half0, valid0, _mm512_add_epi32(offsets0, shift), channel, 4);
            half1 = _mm512_mask_i32gather_ps(half1, valid1, _mm512_add_epi32(offsets1, shift), channel, 4);
        }
        _mm512_mask_storeu_ps(out + step * ldo, store0, half0);
        _mm512_mask_storeu_ps(out + step * ldo + 16, store1, half1);
        if (++s == kw) {
            s = 0;
            if (++r == kh) { r = 0; c += 1; }
        }
    }
}

__attribute__((target("avx512f")))
void fovea_pack_convolution_panel32_avx512(const fovea_convolution_window *window, const float *image,
                                           long firstColumn, int live, long firstTap, long depth, float *out) {
    pack_columns(window, image, firstColumn, live, firstTap, depth, out, 32, 1);
}

// Copies `count` floats (count ≥ 0) with 16-float vectors and a masked tail.
__attribute__((target("avx512f"), always_inline))
static inline void copy_floats(const float *source, float *target, long count) {
    long i = 0;
    for (; i + 16 <= count; i += 16) _mm512_storeu_ps(target + i, _mm512_loadu_ps(source + i));
    if (i < count) {
        const __mmask16 tail = (__mmask16)((1u << (count - i)) - 1u);
        _mm512_mask_storeu_ps(target + i, tail, _mm512_maskz_loadu_ps(tail, source + i));
    }
}

__attribute__((target("avx512f"), always_inline))
static inline void zero_floats(float *target, long count) {
    long i = 0;
    for (; i + 16 <= count; i += 16) _mm512_storeu_ps(target + i, _mm512_setzero_ps());
    if (i < count) _mm512_mask_storeu_ps(target + i, (__mmask16)((1u << (count - i)) - 1u), _mm512_setzero_ps());
}

// Adds `count` floats of `source` onto `target` (count ≥ 0), 16 at a time, then a masked tail.
__attribute__((target("avx512f"), always_inline))
static inline void add_floats(const float *source, float *target, long count) {
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        _mm512_storeu_ps(target + i, _mm512_add_ps(_mm512_loadu_ps(target + i), _mm512_loadu_ps(source + i)));
    }
    if (i < count) {
        const __mmask16 tail = (__mmask16)((1u << (count - i)) - 1u);
        _mm512_mask_storeu_ps(target + i, tail,
                              _mm512_add_ps(_mm512_maskz_loadu_ps(tail, target + i), _mm512_maskz_loadu_ps(tail, source + i)));
    }
}

__attribute__((target("avx512f")))
void fovea_im2col_avx512(const fovea_convolution_window *g, const float *image,
                         long firstColumn, long count, long firstTap, long depth, float *out) {
    walk_rows(g, (float *)image, firstColumn, count, firstTap, depth, out, 0, copy_floats, zero_floats, add_floats);
}

__attribute__((target("avx512f")))
void fovea_col2im_avx512(const fovea_convolution_window *g, const float *columns,
                         long firstColumn, long count, long firstTap, long depth, float *image) {
    walk_rows(g, image, firstColumn, count, firstTap, depth, (float *)columns, 1, copy_floats, zero_floats, add_floats);
}

__attribute__((target("avx512f")))
void fovea_pack_convolution_transposed_panel32_avx512(const fovea_convolution_window *window, const float *image,
                                                      long firstColumn, long length, long firstTap, int live,
                                                      float *scratch, float *out) {
    fovea_im2col_avx512(window, image, firstColumn, length, firstTap, live, scratch);
    fovea_pack_transposed_avx512(scratch, length, live, length, 32, out);
}
