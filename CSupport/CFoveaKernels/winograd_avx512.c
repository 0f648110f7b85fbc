// Winograd F(4×4, 3×3) and F(2×2, 3×3) input and output transforms with AVX-512, for
// `WinogradTiles`: sixteen tiles of one tile row in the lanes. With m×m output tiles, the
// (m+2)×(m+2) patches of a tile row sit m columns apart and overlap by two, so one patch row of 16
// tiles is 16m + 2 consecutive input values: a few masked loads (zeros outside the image, which is
// the convolution's padding), then a de-interleave by shuffles (value j of tile t is element
// m·t + j). The output goes the other way: the m×m results of 16 tiles, interleaved by shuffles,
// are 16m consecutive output values per output row. One driver per direction (`input_tiles`,
// `output_tiles`) takes m as a compile-time constant. The transforms themselves (winograd_1d.h)
// are those of `WinogradF4x4` and `WinogradF2x2` in the same operation order (and FP contraction
// is off), so results equal the Swift code's bit for bit.
#include "CFoveaKernels.h"

#include <immintrin.h>

#pragma clang fp contract(off)

typedef __m512 v16;

#define WINOGRAD_VECTOR __m512
#define WINOGRAD_SPLAT(x) _mm512_set1_ps(x)
#define WINOGRAD_TARGET "avx512f"
#include "winograd_1d.h"

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

// The tile row run starting at tile t: image, top-left input/output corner (m×m tiles), tiles in the run.
typedef struct { long image; long row, column; int tiles; } tile_run;

static inline tile_run run_at(const fovea_winograd_tiles *w, long t, long end, int m) {
    tile_run run;
    run.image = t / w->tilesPerImage;
    const long r = t % w->tilesPerImage;
    const long ty = r / w->tilesWide, tx = r % w->tilesWide;
    run.row = ty * m;
    run.column = tx * m;
    long tiles = w->tilesWide - tx;
    if (tiles > end - t) tiles = end - t;
    run.tiles = (int)tiles;
    return run;
}

// Values j = 0..m+1 of 16 tiles, d[j] lane t = element m·t + j of the patch row held in r[]
// (16m + 2 values; r has (16m + 17)/16 vectors).
__attribute__((target("avx512f"), always_inline))
static inline void deinterleave(const v16 *r, v16 *d, const int m) {
    // Lane t ← lane t + 1, lane 15 ← element 0 or 1 of the next tile's vector.
    const __m512i nextTile0 = _mm512_set_epi32(16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
    const __m512i nextTile1 = _mm512_set_epi32(17, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
    if (m == 4) {
        v16 lanesOfTiles[4];
        transpose_lanes(r, lanesOfTiles);
        transpose_within_lanes(lanesOfTiles, d);
    } else {
        d[0] = _mm512_permutex2var_ps(r[0], _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0), r[1]);
        d[1] = _mm512_permutex2var_ps(r[0], _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1), r[1]);
    }
    // The last two values are the first two of the next tile.
    d[m] = _mm512_permutex2var_ps(d[0], nextTile0, r[m]);
    d[m + 1] = _mm512_permutex2var_ps(d[1], nextTile1, r[m]);
}

// The inverse: out[q] = elements 16q..16q+15 of the output row whose element m·t + l is o[l] lane t.
__attribute__((target("avx512f"), always_inline))
static inline void interleave(const v16 *o, v16 *out, const int m) {
    if (m == 4) {
        v16 lanesOfTiles[4];
        transpose_within_lanes(o, lanesOfTiles);
        transpose_lanes(lanesOfTiles, out);
    } else {
        const v16 low = _mm512_unpacklo_ps(o[0], o[1]), high = _mm512_unpackhi_ps(o[0], o[1]);
        out[0] = _mm512_permutex2var_ps(low, _mm512_set_epi32(23, 22, 21, 20, 7, 6, 5, 4, 19, 18, 17, 16, 3, 2, 1, 0), high);
        out[1] = _mm512_permutex2var_ps(low, _mm512_set_epi32(31, 30, 29, 28, 15, 14, 13, 12, 27, 26, 25, 24, 11, 10, 9, 8), high);
    }
}

// fovea_winograd{4,2}_input_avx512 for m×m output tiles.
__attribute__((target("avx512f"), always_inline))
static inline void input_tiles(const fovea_winograd_tiles *w, const float *x, long firstTile, int count, float *v, const int m) {
    const int alpha = m + 2, loads = (16 * m + 17) / 16;
    const long plane = (long)w->height * w->width;
    const long end = firstTile + count;
    for (long t = firstTile; t < end;) {
        const tile_run run = run_at(w, t, end, m);
        for (int group = 0; group < run.tiles; group += 16) {
            const int lanes = run.tiles - group < 16 ? run.tiles - group : 16;
            const __mmask16 store = (__mmask16)((1u << lanes) - 1);
            const long top = run.row - w->paddingTop;
            const long left = run.column + (long)m * group - w->paddingLeft;
            // Column j of the block (and the panel it falls in); a vector that crosses into the next
            // panel is stored in two parts (masked lanes are never written, so the second
            // store's base may lie before that panel).
            const long j = t - firstTile + group, panel = w->panelWidth, inPanel = j % panel;
            const long panelStride = (long)w->channels * panel;
            float *first = v + (j / panel) * panelStride + inPanel;
            const int split = inPanel + lanes > panel ? (int)(panel - inPanel) : lanes;
            const __mmask16 firstPart = (__mmask16)(store & ((1u << split) - 1)), secondPart = (__mmask16)(store & ~firstPart);
            float *second = first + panelStride - panel;
            for (long c = 0; c < w->channels; ++c) {
                const float *image = x + (run.image * w->channels + c) * plane;
                v16 d[36];
                for (int i = 0; i < alpha; ++i) {
                    const long row = top + i;
                    const int inside = row >= 0 && row < w->height;
                    const float *source = inside ? image + row * w->width + left : image;  // rows outside: all lanes masked
                    v16 r[5];
                    for (int q = 0; q < loads; ++q)
                        r[q] = _mm512_maskz_loadu_ps(inside ? columns_inside(left + 16 * q, w->width) : 0, source + 16 * q);
                    deinterleave(r, d + i * alpha, m);
                }
                input_2d(m, d);
                for (int xi = 0; xi < alpha * alpha; ++xi) {
                    const long at = xi * w->inputStride + c * panel;
                    _mm512_mask_storeu_ps(first + at, firstPart, d[xi]);
                    if (secondPart) _mm512_mask_storeu_ps(second + at, secondPart, d[xi]);
                }
            }
        }
        t += run.tiles;
    }
}

// fovea_winograd{4,2}_output_avx512 for m×m output tiles.
__attribute__((target("avx512f"), always_inline))
static inline void output_tiles(const fovea_winograd_tiles *w, const float *products, long productStride, long firstTile, int count,
                                long firstOutput, int outputCount, const float *bias, int relu, float *y, const int m) {
    const int alpha = m + 2;
    const long plane = (long)w->outputHeight * w->outputWidth;
    const v16 zero = _mm512_setzero_ps();
    const long end = firstTile + count;
    for (long t = firstTile; t < end;) {
        const tile_run run = run_at(w, t, end, m);
        for (int group = 0; group < run.tiles; group += 16) {
            const int lanes = run.tiles - group < 16 ? run.tiles - group : 16;
            const __mmask16 live = (__mmask16)((1u << lanes) - 1);  // the products end with the block
            const long left = run.column + (long)m * group;
            const long width = left + (long)m * lanes < w->outputWidth ? left + (long)m * lanes : w->outputWidth;
            const long rows = w->outputHeight - run.row < m ? w->outputHeight - run.row : m;
            const float *column = products + (t - firstTile) + group;
            for (int row = 0; row < outputCount; ++row) {
                const long k = firstOutput + row;
                v16 p[36], o[16];
                for (int xi = 0; xi < alpha * alpha; ++xi)
                    p[xi] = _mm512_maskz_loadu_ps(live, column + xi * productStride + row * w->paddedWidth);
                output_2d(m, p, o);
                const v16 b = WINOGRAD_SPLAT(bias[k]);
                for (int i = 0; i < m * m; ++i) {
                    o[i] = o[i] + b;
                    if (relu) o[i] = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(o[i], zero, _CMP_LT_OQ), o[i], zero);
                }
                float *target = y + (run.image * w->outputChannels + k) * plane + run.row * w->outputWidth;
                for (long i = 0; i < rows; ++i) {
                    v16 out[4];
                    interleave(o + i * m, out, m);
                    float *line = target + i * w->outputWidth;
                    for (int q = 0; q < m; ++q) {
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

__attribute__((target("avx512f")))
void fovea_winograd4_input_avx512(const fovea_winograd_tiles *w, const float *x, long firstTile, int count, float *v) {
    input_tiles(w, x, firstTile, count, v, 4);
}

__attribute__((target("avx512f")))
void fovea_winograd2_input_avx512(const fovea_winograd_tiles *w, const float *x, long firstTile, int count, float *v) {
    input_tiles(w, x, firstTile, count, v, 2);
}

__attribute__((target("avx512f")))
void fovea_winograd4_output_avx512(const fovea_winograd_tiles *w, const float *products, long productStride, long firstTile,
                                   int count, long firstOutput, int outputCount, const float *bias, int relu, float *y) {
    output_tiles(w, products, productStride, firstTile, count, firstOutput, outputCount, bias, relu, y, 4);
}

__attribute__((target("avx512f")))
void fovea_winograd2_output_avx512(const fovea_winograd_tiles *w, const float *products, long productStride, long firstTile,
                                   int count, long firstOutput, int outputCount, const float *bias, int relu, float *y) {
    output_tiles(w, products, productStride, firstTile, count, firstOutput, outputCount, bias, relu, y, 2);
}
