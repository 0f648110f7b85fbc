// Winograd F(4×4, 3×3) and F(2×2, 3×3) input and output transforms with AVX-512, for
// `WinogradTiles`. F(4×4) first (F(2×2), at the end, works the same way with tiles 2 apart): sixteen
// tiles of one tile row in the lanes. The 6×6 patches of a tile row overlap by two columns and sit
// 4 columns apart, so one patch row of 16 tiles is 66 consecutive input values: five masked loads
// (zeros outside the image, which is the convolution's padding), then a de-interleave by shuffles
// (value j of tile t is element 4t + j). The output goes the other way: the 4×4 results of 16
// tiles, interleaved by the same shuffles, are 64 consecutive output values per output row.
// The 1-D transforms are those of `WinogradF4x4` in the same operation order (and FP contraction
// is off), so results equal the Swift code's bit for bit.
#include "CFoveaKernels.h"

#include <immintrin.h>

#pragma clang fp contract(off)

typedef __m512 v16;

#define SPLAT(x) _mm512_set1_ps(x)

// out[i·os] = Σⱼ Bᵀ[i][j] · d[j·s]   (WinogradF4x4.input)
__attribute__((target("avx512f"), always_inline))
static inline void input_1d(const v16 *d, int s, v16 *out, int os) {
    const v16 d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s], d5 = d[5 * s];
    const v16 a = d4 - SPLAT(4) * d2, b = d3 - SPLAT(4) * d1;
    const v16 c = d4 - d2, e = SPLAT(2) * (d3 - d1);
    out[0] = SPLAT(4) * d0 - SPLAT(5) * d2 + d4;
    out[os] = a + b;
    out[2 * os] = a - b;
    out[3 * os] = c + e;
    out[4 * os] = c - e;
    out[5 * os] = SPLAT(4) * d1 - SPLAT(5) * d3 + d5;
}

// out[i·os] = Σⱼ Aᵀ[i][j] · v[j·s], i < 4   (WinogradF4x4.output)
__attribute__((target("avx512f"), always_inline))
static inline void output_1d(const v16 *v, int s, v16 *out, int os) {
    const v16 v0 = v[0], v1 = v[s], v2 = v[2 * s], v3 = v[3 * s], v4 = v[4 * s], v5 = v[5 * s];
    const v16 sum12 = v1 + v2, difference12 = v1 - v2;
    const v16 sum34 = v3 + v4, difference34 = v3 - v4;
    out[0] = v0 + sum12 + sum34;
    out[os] = difference12 + SPLAT(2) * difference34;
    out[2 * os] = sum12 + SPLAT(4) * sum34;
    out[3 * os] = difference12 + SPLAT(8) * difference34 + v5;
}

// The 4×4 transpose of 128-bit lanes: out[m] lane q = in[q] lane m.
__attribute__((target("avx512f"), always_inline))
static inline void transpose_lanes(const v16 in[4], v16 out[4]) {
    const v16 t0 = _mm512_shuffle_f32x4(in[0], in[1], 0x44), t1 = _mm512_shuffle_f32x4(in[2], in[3], 0x44);
    const v16 t2 = _mm512_shuffle_f32x4(in[0], in[1], 0xEE), t3 = _mm512_shuffle_f32x4(in[2], in[3], 0xEE);
    out[0] = _mm512_shuffle_f32x4(t0, t1, 0x88);
    out[1] = _mm512_shuffle_f32x4(t0, t1, 0xDD);
    out[2] = _mm512_shuffle_f32x4(t2, t3, 0x88);
    out[3] = _mm512_shuffle_f32x4(t2, t3, 0xDD);
}

// Within each 128-bit lane, the 4×4 transpose of its four floats across in[0..3].
__attribute__((target("avx512f"), always_inline))
static inline void transpose_within_lanes(const v16 in[4], v16 out[4]) {
    const __m512d u0 = _mm512_castps_pd(_mm512_unpacklo_ps(in[0], in[1]));
    const __m512d u1 = _mm512_castps_pd(_mm512_unpackhi_ps(in[0], in[1]));
    const __m512d u2 = _mm512_castps_pd(_mm512_unpacklo_ps(in[2], in[3]));
    const __m512d u3 = _mm512_castps_pd(_mm512_unpackhi_ps(in[2], in[3]));
    out[0] = _mm512_castpd_ps(_mm512_unpacklo_pd(u0, u2));
    out[1] = _mm512_castpd_ps(_mm512_unpackhi_pd(u0, u2));
    out[2] = _mm512_castpd_ps(_mm512_unpacklo_pd(u1, u3));
    out[3] = _mm512_castpd_ps(_mm512_unpackhi_pd(u1, u3));
}

// Lanes of the columns first..first+15 that lie in 0..<width.
static inline __mmask16 columns_inside(long first, long width) {
    long from = first < 0 ? -first : 0, to = width - first;
    if (to > 16) to = 16;
    if (to <= from) return 0;
    return (__mmask16)(((1u << to) - 1) & ~((1u << from) - 1));
}

// The tile row run starting at tile t: image, top-left input/output corner, tiles in the run.
typedef struct { long image; long row, column; int tiles; } tile_run;

static inline tile_run run_at(const fovea_winograd_tiles *w, long t, long end) {
    tile_run run;
    run.image = t / w->tilesPerImage;
    const long r = t % w->tilesPerImage;
    const long ty = r / w->tilesWide, tx = r % w->tilesWide;
    run.row = ty * 4;
    run.column = tx * 4;
    long tiles = w->tilesWide - tx;
    if (tiles > end - t) tiles = end - t;
    run.tiles = (int)tiles;
    return run;
}

__attribute__((target("avx512f")))
void fovea_winograd4_input_avx512(const fovea_winograd_tiles *w, const float *x, long firstTile, int count, float *v) {
    const long plane = (long)w->height * w->width;
    const v16 zero = _mm512_setzero_ps();
    const __m512i nextTile0 = _mm512_set_epi32(16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
    const __m512i nextTile1 = _mm512_set_epi32(17, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
    const long end = firstTile + count;
    for (long t = firstTile; t < end;) {
        const tile_run run = run_at(w, t, end);
        for (int group = 0; group < run.tiles; group += 16) {
            const int lanes = run.tiles - group < 16 ? run.tiles - group : 16;
            const __mmask16 store = (__mmask16)((1u << lanes) - 1);
            const long top = run.row - w->paddingTop;
            const long left = run.column + 4L * group - w->paddingLeft;
            float *column = v + (t - firstTile) + group;
            for (long c = 0; c < w->channels; ++c) {
                const float *image = x + (run.image * w->channels + c) * plane;
                v16 d[36], columns[36];
                for (int i = 0; i < 6; ++i) {
                    const long row = top + i;
                    v16 r[5];
                    if (row < 0 || row >= w->height) {
                        for (int q = 0; q < 5; ++q) r[q] = zero;
                    } else {
                        const float *source = image + row * w->width + left;
                        for (int q = 0; q < 5; ++q)
                            r[q] = _mm512_maskz_loadu_ps(columns_inside(left + 16 * q, w->width), source + 16 * q);
                    }
                    v16 lanesOfTiles[4], e[4];
                    transpose_lanes(r, lanesOfTiles);
                    transpose_within_lanes(lanesOfTiles, e);
                    for (int j = 0; j < 4; ++j) d[i * 6 + j] = e[j];
                    d[i * 6 + 4] = _mm512_permutex2var_ps(e[0], nextTile0, r[4]);
                    d[i * 6 + 5] = _mm512_permutex2var_ps(e[1], nextTile1, r[4]);
                }
                for (int j = 0; j < 6; ++j) input_1d(d + j, 6, columns + j, 6);      // Bᵀ·d
                for (int i = 0; i < 6; ++i) input_1d(columns + i * 6, 1, d + i * 6, 1);  // (Bᵀ·d)·B
                for (int xi = 0; xi < 36; ++xi)
                    _mm512_mask_storeu_ps(column + (xi * w->channels + c) * w->paddedWidth, store, d[xi]);
            }
        }
        t += run.tiles;
    }
}

__attribute__((target("avx512f")))
void fovea_winograd4_output_avx512(const fovea_winograd_tiles *w, const float *products, long rowStride, long firstTile,
                                   int count, long firstOutput, int outputCount, const float *bias, int relu, float *y) {
    const long plane = (long)w->outputHeight * w->outputWidth;
    const v16 zero = _mm512_setzero_ps();
    const long end = firstTile + count;
    for (long t = firstTile; t < end;) {
        const tile_run run = run_at(w, t, end);
        for (int group = 0; group < run.tiles; group += 16) {
            const int lanes = run.tiles - group < 16 ? run.tiles - group : 16;
            const __mmask16 live = (__mmask16)((1u << lanes) - 1);  // the products end with the block
            const long left = run.column + 4L * group;
            const long width = left + 4L * lanes < w->outputWidth ? left + 4L * lanes : w->outputWidth;
            const long rows = w->outputHeight - run.row < 4 ? w->outputHeight - run.row : 4;
            const float *column = products + (t - firstTile) + group;
            for (int row = 0; row < outputCount; ++row) {
                const long k = firstOutput + row;
                v16 m[36], columns[24], o[16];
                for (int xi = 0; xi < 36; ++xi) m[xi] = _mm512_maskz_loadu_ps(live, column + (xi * rowStride + row) * w->paddedWidth);
                for (int j = 0; j < 6; ++j) output_1d(m + j, 6, columns + j, 6);      // Aᵀ·M: 4×6
                for (int i = 0; i < 4; ++i) output_1d(columns + i * 6, 1, o + i * 4, 1);  // (Aᵀ·M)·A: 4×4
                const v16 b = SPLAT(bias[k]);
                for (int i = 0; i < 16; ++i) {
                    o[i] = o[i] + b;
                    if (relu) o[i] = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(o[i], zero, _CMP_LT_OQ), o[i], zero);
                }
                float *target = y + (run.image * w->outputChannels + k) * plane + run.row * w->outputWidth;
                for (long i = 0; i < rows; ++i) {
                    v16 lanesOfTiles[4], out[4];
                    transpose_within_lanes(o + i * 4, lanesOfTiles);
                    transpose_lanes(lanesOfTiles, out);
                    float *line = target + i * w->outputWidth;
                    for (int q = 0; q < 4; ++q) {
                        const long first = left + 16L * q;
                        if (first >= width) break;
                        _mm512_mask_storeu_ps(line + first, columns_inside(first, width), out[q]);
                    }
                }
            }
        }
        t += run.tiles;
    }
}

// ---------------------------------------------------------------------------------------------
// F(2×2, 3×3): 4×4 patches 2 columns apart, so a patch row of 16 tiles is 34 consecutive values
// (value j of tile t is element 2t + j: even and odd elements, then both shifted by one tile);
// the 2×2 outputs of 16 tiles are 32 consecutive values per output row.

// out[i·os] = Σⱼ Bᵀ[i][j] · d[j·s]   (WinogradF2x2.input)
__attribute__((target("avx512f"), always_inline))
static inline void input2_1d(const v16 *d, int s, v16 *out, int os) {
    const v16 d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s];
    out[0] = d0 - d2;
    out[os] = d1 + d2;
    out[2 * os] = d2 - d1;
    out[3 * os] = d1 - d3;
}

// out[i·os] = Σⱼ Aᵀ[i][j] · v[j·s], i < 2   (WinogradF2x2.output)
__attribute__((target("avx512f"), always_inline))
static inline void output2_1d(const v16 *v, int s, v16 *out, int os) {
    const v16 v0 = v[0], v1 = v[s], v2 = v[2 * s], v3 = v[3 * s];
    out[0] = v0 + v1 + v2;
    out[os] = v1 - v2 - v3;
}

// The tile row run starting at tile t, with its tile row and column (not pixel) indices.
static inline tile_run run2_at(const fovea_winograd_tiles *w, long t, long end) {
    tile_run run = run_at(w, t, end);
    run.row /= 4;  // run_at gives 4×4 tiles' pixel positions
    run.column /= 4;
    return run;
}

__attribute__((target("avx512f")))
void fovea_winograd2_input_avx512(const fovea_winograd_tiles *w, const float *x, long firstTile, int count, float *v) {
    const long plane = (long)w->height * w->width;
    const v16 zero = _mm512_setzero_ps();
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    const __m512i nextTile0 = _mm512_set_epi32(16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
    const __m512i nextTile1 = _mm512_set_epi32(17, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
    const long end = firstTile + count;
    for (long t = firstTile; t < end;) {
        const tile_run run = run2_at(w, t, end);
        for (int group = 0; group < run.tiles; group += 16) {
            const int lanes = run.tiles - group < 16 ? run.tiles - group : 16;
            const __mmask16 store = (__mmask16)((1u << lanes) - 1);
            const long top = run.row * 2 - w->paddingTop;
            const long left = (run.column + group) * 2 - w->paddingLeft;
            float *column = v + (t - firstTile) + group;
            for (long c = 0; c < w->channels; ++c) {
                const float *image = x + (run.image * w->channels + c) * plane;
                v16 d[16], columns[16];
                for (int i = 0; i < 4; ++i) {
                    const long row = top + i;
                    v16 r[3];
                    if (row < 0 || row >= w->height) {
                        for (int q = 0; q < 3; ++q) r[q] = zero;
                    } else {
                        const float *source = image + row * w->width + left;
                        for (int q = 0; q < 3; ++q)
                            r[q] = _mm512_maskz_loadu_ps(columns_inside(left + 16 * q, w->width), source + 16 * q);
                    }
                    const v16 e0 = _mm512_permutex2var_ps(r[0], even, r[1]), e1 = _mm512_permutex2var_ps(r[0], odd, r[1]);
                    d[i * 4] = e0;
                    d[i * 4 + 1] = e1;
                    d[i * 4 + 2] = _mm512_permutex2var_ps(e0, nextTile0, r[2]);
                    d[i * 4 + 3] = _mm512_permutex2var_ps(e1, nextTile1, r[2]);
                }
                for (int j = 0; j < 4; ++j) input2_1d(d + j, 4, columns + j, 4);      // Bᵀ·d
                for (int i = 0; i < 4; ++i) input2_1d(columns + i * 4, 1, d + i * 4, 1);  // (Bᵀ·d)·B
                for (int xi = 0; xi < 16; ++xi)
                    _mm512_mask_storeu_ps(column + (xi * w->channels + c) * w->paddedWidth, store, d[xi]);
            }
        }
        t += run.tiles;
    }
}

__attribute__((target("avx512f")))
void fovea_winograd2_output_avx512(const fovea_winograd_tiles *w, const float *products, long rowStride, long firstTile,
                                   int count, long firstOutput, int outputCount, const float *bias, int relu, float *y) {
    const long plane = (long)w->outputHeight * w->outputWidth;
    const v16 zero = _mm512_setzero_ps();
    const __m512i firstHalf = _mm512_set_epi32(23, 22, 21, 20, 7, 6, 5, 4, 19, 18, 17, 16, 3, 2, 1, 0);
    const __m512i secondHalf = _mm512_set_epi32(31, 30, 29, 28, 15, 14, 13, 12, 27, 26, 25, 24, 11, 10, 9, 8);
    const long end = firstTile + count;
    for (long t = firstTile; t < end;) {
        const tile_run run = run2_at(w, t, end);
        for (int group = 0; group < run.tiles; group += 16) {
            const int lanes = run.tiles - group < 16 ? run.tiles - group : 16;
            const __mmask16 live = (__mmask16)((1u << lanes) - 1);
            const long left = (run.column + group) * 2;
            const long width = left + 2L * lanes < w->outputWidth ? left + 2L * lanes : w->outputWidth;
            const long top = run.row * 2;
            const long rows = w->outputHeight - top < 2 ? w->outputHeight - top : 2;
            const float *column = products + (t - firstTile) + group;
            for (int row = 0; row < outputCount; ++row) {
                const long k = firstOutput + row;
                v16 m[16], columns[8], o[4];
                for (int xi = 0; xi < 16; ++xi) m[xi] = _mm512_maskz_loadu_ps(live, column + (xi * rowStride + row) * w->paddedWidth);
                for (int j = 0; j < 4; ++j) output2_1d(m + j, 4, columns + j, 4);      // Aᵀ·M: 2×4
                for (int i = 0; i < 2; ++i) output2_1d(columns + i * 4, 1, o + i * 2, 1);  // (Aᵀ·M)·A: 2×2
                const v16 b = SPLAT(bias[k]);
                for (int i = 0; i < 4; ++i) {
                    o[i] = o[i] + b;
                    if (relu) o[i] = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(o[i], zero, _CMP_LT_OQ), o[i], zero);
                }
                float *target = y + (run.image * w->outputChannels + k) * plane + top * w->outputWidth;
                for (long i = 0; i < rows; ++i) {
                    const v16 low = _mm512_unpacklo_ps(o[i * 2], o[i * 2 + 1]), high = _mm512_unpackhi_ps(o[i * 2], o[i * 2 + 1]);
                    const v16 out[2] = {_mm512_permutex2var_ps(low, firstHalf, high), _mm512_permutex2var_ps(low, secondHalf, high)};
                    float *line = target + i * w->outputWidth;
                    for (int q = 0; q < 2; ++q) {
                        const long first = left + 16L * q;
                        if (first >= width) break;
                        _mm512_mask_storeu_ps(line + first, columns_inside(first, width), out[q]);
                    }
                }
            }
        }
        t += run.tiles;
    }
}
