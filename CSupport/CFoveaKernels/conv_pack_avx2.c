// Packs one 16-column panel of a convolution's implicit column matrix (the GEMM's B operand) for
// the AVX2 6×16 kernel, straight from an NCHW image: the AVX2 counterpart of
// fovea_pack_convolution_panel32_avx512 (conv_pack_avx512.c), which explains the matrix:
// col[t, j] = x[c, p·sh − ph + r·dh, q·sw − pw + s·dw] (0 outside the image), tap
// t = (c·R + r)·S + s, column j = p·Q + q.
//
// The panel's 16 lanes are fixed output positions, kept as two vectors of 8 (their p·sh and
// q·sw); a step (one tap) adds the tap's shifts and compares the input row and column against
// the image (as unsigned numbers, so that one compare catches both ends), giving the lanes that
// read the image; the others become zero.
//   - Stride 1 across: the lanes of one output row read one contiguous stretch of an input row,
//     so each such run of lanes is one masked load per half (masked lanes are not read).
//   - Stride 2 across: the same, loading each run's span under a mask of the even elements it
//     needs and keeping those (a shuffle and a permute); a gather is slower.
//   - Other strides: one masked gather per half.
// Also im2col and col2im blocks (the walk of im2col_walk.h with 8-float helpers) and the
// transposed panels of backward-filter, as conv_pack_avx512.c has them for AVX-512.
// A batch-norm prologue (fovea_channel_normalization) is applied to each step's two halves before
// they are stored, in the operation order of the Swift code (FP contraction is off).
#include "CFoveaKernels.h"
#include "im2col_walk.h"

#include <immintrin.h>
#include <stdint.h>

#pragma clang fp contract(off)

// Lanes where a < b as unsigned 32-bit numbers (all ones), else zero.
__attribute__((target("avx2,fma"), always_inline))
static inline __m256i unsigned_less(__m256i a, __m256i b) {
    const __m256i sign = _mm256_set1_epi32((int32_t)0x80000000u);
    return _mm256_cmpgt_epi32(_mm256_xor_si256(b, sign), _mm256_xor_si256(a, sign));
}

// Lanes i < 8 where `lanes` is all ones get span[2i], the others zero: the 16 floats are loaded
// under a mask of the even elements needed (no other element is read), and the even ones kept.
__attribute__((target("avx2,fma"), always_inline))
static inline __m256 stride2_half(const float *span, __m256i lanes) {
    const __m256i even = _mm256_setr_epi32(-1, 0, -1, 0, -1, 0, -1, 0);
    const __m256i low = _mm256_and_si256(even, _mm256_permutevar8x32_epi32(lanes, _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3)));
    const __m256i high = _mm256_and_si256(even, _mm256_permutevar8x32_epi32(lanes, _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7)));
    const __m256 first = _mm256_maskload_ps(span, low), second = _mm256_maskload_ps(span + 8, high);
    // [f0 f2 s0 s2 | f4 f6 s4 s6] → [f0 f2 f4 f6 | s0 s2 s4 s6]
    const __m256 mixed = _mm256_shuffle_ps(first, second, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(mixed), _MM_SHUFFLE(3, 1, 2, 0)));
}

// finish((v − mean[c])·scale[c] + shift[c]) (see fovea_channel_normalization).
__attribute__((target("avx2,fma"), always_inline))
static inline __m256 normalized(__m256 v, const fovea_channel_normalization *norm, long c) {
    const __m256 y = _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(v, _mm256_set1_ps(norm->mean[c])), _mm256_set1_ps(norm->scale[c])),
                                   _mm256_set1_ps(norm->shift[c]));
    const __m256 zero = _mm256_setzero_ps();
    switch (norm->activation) {
    case 1: return _mm256_blendv_ps(y, zero, _mm256_cmp_ps(y, zero, _CMP_LT_OQ));
    case 2: return _mm256_blendv_ps(y, _mm256_mul_ps(y, _mm256_set1_ps(norm->slope)), _mm256_cmp_ps(y, zero, _CMP_LE_OQ));
    default: return y;
    }
}

__attribute__((target("avx2,fma")))
void fovea_pack_convolution_panel16_avx2(const fovea_convolution_window *g, const float *image,
                                         long firstColumn, int live, long firstTap, long depth,
                                         const fovea_channel_normalization *normalization, float *out) {
    const long width = g->width, q = g->outputWidth, plane = g->height * width;
    const long sh = g->strideHeight, sw = g->strideWidth;

    // Lane i: column j = firstColumn + i → (image n, p, q); its image row and column before the
    // tap's shifts, its image's offset, and whether it is live (all ones) or past `live` (zero).
    int32_t rowOrigin[16], columnOrigin[16], imageOrigin[16], liveLanes[16];
    // Runs of lanes in one output row of one image: their lanes (all ones), the image's offset,
    // its image row, and the input column of lane 0 of the panel (lane i reads runColumn + i).
    int32_t runLanes[16][16];
    long runColumn[16], runRow[16], runImage[16];
    int runCount = 0;
    const long positions = g->outputHeight * q;
    long n = firstColumn / positions, p = (firstColumn % positions) / q, column = firstColumn % q;
    for (int i = 0; i < 16; ++i) {
        if (i < live) {
            if (i == 0 || column == 0) {
                for (int l = 0; l < 16; ++l) runLanes[runCount][l] = 0;
                runImage[runCount] = n * g->imageSize;
                runRow[runCount] = p * sh;
                runColumn[runCount] = (column - i) * sw;
                runCount += 1;
            }
            runLanes[runCount - 1][i] = -1;
            rowOrigin[i] = (int32_t)(p * sh);
            columnOrigin[i] = (int32_t)(column * sw);
            imageOrigin[i] = (int32_t)(n * g->imageSize);
            liveLanes[i] = -1;
            if (++column == q) {
                column = 0;
                if (++p == g->outputHeight) { p = 0; n += 1; }
            }
        } else {
            rowOrigin[i] = 0;
            columnOrigin[i] = 0;
            imageOrigin[i] = 0;
            liveLanes[i] = 0;
        }
    }
    const __m256i rows0 = _mm256_loadu_si256((const __m256i *)rowOrigin);
    const __m256i rows1 = _mm256_loadu_si256((const __m256i *)(rowOrigin + 8));
    const __m256i columns0 = _mm256_loadu_si256((const __m256i *)columnOrigin);
    const __m256i columns1 = _mm256_loadu_si256((const __m256i *)(columnOrigin + 8));
    const __m256i live0 = _mm256_loadu_si256((const __m256i *)liveLanes);
    const __m256i live1 = _mm256_loadu_si256((const __m256i *)(liveLanes + 8));
    const __m256i heightVector = _mm256_set1_epi32((int32_t)g->height), widthVector = _mm256_set1_epi32((int32_t)width);
    // For the gather: lane offsets rowOrigin·W + columnOrigin (+ the image's offset) from a channel.
    const __m256i offsets0 = _mm256_add_epi32(_mm256_add_epi32(_mm256_mullo_epi32(rows0, widthVector), columns0),
                                              _mm256_loadu_si256((const __m256i *)imageOrigin));
    const __m256i offsets1 = _mm256_add_epi32(_mm256_add_epi32(_mm256_mullo_epi32(rows1, widthVector), columns1),
                                              _mm256_loadu_si256((const __m256i *)(imageOrigin + 8)));

    const long kw = g->kernelWidth, kh = g->kernelHeight;
    long s = firstTap % kw, r = (firstTap / kw) % kh, c = firstTap / (kw * kh);
    for (long step = 0; step < depth; ++step) {
        const long rowShift = r * g->dilationHeight - g->padHeight;
        const long columnShift = s * g->dilationWidth - g->padWidth;
        const float *channel = image + c * plane;
        const __m256i rowShiftVector = _mm256_set1_epi32((int32_t)rowShift);
        const __m256i columnShiftVector = _mm256_set1_epi32((int32_t)columnShift);
        const __m256i valid0 = _mm256_and_si256(
            _mm256_and_si256(live0, unsigned_less(_mm256_add_epi32(rows0, rowShiftVector), heightVector)),
            unsigned_less(_mm256_add_epi32(columns0, columnShiftVector), widthVector));
        const __m256i valid1 = _mm256_and_si256(
            _mm256_and_si256(live1, unsigned_less(_mm256_add_epi32(rows1, rowShiftVector), heightVector)),
            unsigned_less(_mm256_add_epi32(columns1, columnShiftVector), widthVector));
        __m256 half0 = _mm256_setzero_ps(), half1 = _mm256_setzero_ps();
        if (sw == 1 || sw == 2) {
            for (int run = 0; run < runCount; ++run) {
                const __m256i lanes0 = _mm256_and_si256(valid0, _mm256_loadu_si256((const __m256i *)runLanes[run]));
                const __m256i lanes1 = _mm256_and_si256(valid1, _mm256_loadu_si256((const __m256i *)(runLanes[run] + 8)));
                const int any0 = !_mm256_testz_si256(lanes0, lanes0), any1 = !_mm256_testz_si256(lanes1, lanes1);
                if (!any0 && !any1) continue;
                // Lane i of this run reads source[sw·i]; the runs' lanes are disjoint and masked
                // loads give zero elsewhere, so the halves are the OR of the runs' loads.
                const float *source = channel + runImage[run] + (runRow[run] + rowShift) * width + runColumn[run] + columnShift;
                if (any0) half0 = _mm256_or_ps(half0, sw == 1 ? _mm256_maskload_ps(source, lanes0) : stride2_half(source, lanes0));
                if (any1) half1 = _mm256_or_ps(half1, sw == 1 ? _mm256_maskload_ps(source + 8, lanes1) : stride2_half(source + 16, lanes1));
                // The next panel reads on along the same input rows: fetch them ahead.
                _mm_prefetch((const char *)(source + 16 * sw), _MM_HINT_T0);
                if (sw == 2) _mm_prefetch((const char *)(source + 48), _MM_HINT_T0);
            }
        } else {
            const __m256i shift = _mm256_set1_epi32((int32_t)(rowShift * width + columnShift));
            half0 = _mm256_mask_i32gather_ps(half0, channel, _mm256_add_epi32(offsets0, shift), _mm256_castsi256_ps(valid0), 4);
            half1 = _mm256_mask_i32gather_ps(half1, channel, _mm256_add_epi32(offsets1, shift), _mm256_castsi256_ps(valid1), 4);
        }
        if (normalization) {
            half0 = normalized(half0, normalization, c);
            half1 = normalized(half1, normalization, c);
        }
        _mm256_storeu_ps(out + step * 16, half0);
        _mm256_storeu_ps(out + step * 16 + 8, half1);
        if (++s == kw) {
            s = 0;
            if (++r == kh) { r = 0; c += 1; }
        }
    }
}

// The first `count` lanes (0 ≤ count < 8) all ones: the mask of a tail.
__attribute__((target("avx2,fma"), always_inline))
static inline __m256i tail_mask(long count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Copies `count` floats (count ≥ 0) with 8-float vectors and a masked tail.
__attribute__((target("avx2,fma"), always_inline))
static inline void copy_floats(const float *source, float *target, long count) {
    long i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(target + i, _mm256_loadu_ps(source + i));
    if (i < count) {
        const __m256i tail = tail_mask(count - i);
        _mm256_maskstore_ps(target + i, tail, _mm256_maskload_ps(source + i, tail));
    }
}

__attribute__((target("avx2,fma"), always_inline))
static inline void zero_floats(float *target, long count) {
    long i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(target + i, _mm256_setzero_ps());
    if (i < count) _mm256_maskstore_ps(target + i, tail_mask(count - i), _mm256_setzero_ps());
}

// Adds `count` floats of `source` onto `target` (count ≥ 0), 8 at a time, then a masked tail.
__attribute__((target("avx2,fma"), always_inline))
static inline void add_floats(const float *source, float *target, long count) {
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        _mm256_storeu_ps(target + i, _mm256_add_ps(_mm256_loadu_ps(target + i), _mm256_loadu_ps(source + i)));
    }
    if (i < count) {
        const __m256i tail = tail_mask(count - i);
        _mm256_maskstore_ps(target + i, tail, _mm256_add_ps(_mm256_maskload_ps(target + i, tail), _mm256_maskload_ps(source + i, tail)));
    }
}

__attribute__((target("avx2,fma")))
void fovea_im2col_avx2(const fovea_convolution_window *g, const float *image,
                       long firstColumn, long count, long firstTap, long depth, float *out) {
    walk_rows(g, (float *)image, firstColumn, count, firstTap, depth, out, 0, copy_floats, zero_floats, add_floats);
}

__attribute__((target("avx2,fma")))
void fovea_col2im_avx2(const fovea_convolution_window *g, const float *columns,
                       long firstColumn, long count, long firstTap, long depth, float *image) {
    walk_rows(g, image, firstColumn, count, firstTap, depth, (float *)columns, 1, copy_floats, zero_floats, add_floats);
}

__attribute__((target("avx2,fma")))
void fovea_pack_convolution_transposed_panel16_avx2(const fovea_convolution_window *window, const float *image,
                                                    long firstColumn, long length, long firstTap, int live,
                                                    float *scratch, float *out) {
    fovea_im2col_avx2(window, image, firstColumn, length, firstTap, live, scratch);
    fovea_pack_transposed_avx2(scratch, length, live, length, 16, out);
}
