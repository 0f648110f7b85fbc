// Winograd F(4×4, 3×3) and F(2×2, 3×3) input and output transforms with AVX2, for
// `WinogradTiles`: any eight consecutive tiles of a block in the lanes, across tile rows and
// images, as the Swift transforms take them (no lane is left empty at the end of a short tile
// row). A row of a tile's (m+2)×(m+2) patch is read as 128-bit pieces — values 0–3, and for
// F(4×4) values 2–5 — by masked loads (zeros outside the image, which is the convolution's
// padding, and for rows above or below it); the pieces of eight tiles, two per 256-bit vector,
// are transposed within 128-bit lanes so that vector j holds value j of every tile. The output
// goes the other way: a row of the m×m results of eight tiles, transposed back, is one 128-bit
// (F(4×4)) or 64-bit (F(2×2)) store per tile. One driver per direction takes m as a compile-time
// constant; the transforms themselves (winograd_1d.h) are the Swift code's in its operation
// order (and FP contraction is off), so results equal it bit for bit.
#include "CFoveaKernels.h"

#include <immintrin.h>

#pragma clang fp contract(off)

typedef __m256 v8;

#define WINOGRAD_VECTOR __m256
#define WINOGRAD_SPLAT(x) _mm256_set1_ps(x)
#define WINOGRAD_TARGET "avx2"
#include "winograd_1d.h"

// Within each 128-bit lane, the 4×4 transpose of its four floats across in[0..3]:
// out[j] lane q = in[q] lane j (q < 4; the high lanes likewise).
__attribute__((target("avx2"), always_inline))
static inline void transpose_within_lanes(const v8 in[4], v8 out[4]) {
    const __m256d u0 = _mm256_castps_pd(_mm256_unpacklo_ps(in[0], in[1]));
    const __m256d u1 = _mm256_castps_pd(_mm256_unpackhi_ps(in[0], in[1]));
    const __m256d u2 = _mm256_castps_pd(_mm256_unpacklo_ps(in[2], in[3]));
    const __m256d u3 = _mm256_castps_pd(_mm256_unpackhi_ps(in[2], in[3]));
    out[0] = _mm256_castpd_ps(_mm256_unpacklo_pd(u0, u2));
    out[1] = _mm256_castpd_ps(_mm256_unpackhi_pd(u0, u2));
    out[2] = _mm256_castpd_ps(_mm256_unpacklo_pd(u1, u3));
    out[3] = _mm256_castpd_ps(_mm256_unpackhi_pd(u1, u3));
}

// The vector of two 128-bit pieces: low = a, high = b.
__attribute__((target("avx2"), always_inline))
static inline v8 pair(__m128 a, __m128 b) { return _mm256_insertf128_ps(_mm256_castps128_ps256(a), b, 1); }

// Lanes k of a 128-bit mask that are on where 0 ≤ first + k < limit.
__attribute__((target("avx2"), always_inline))
static inline __m128i inside(long first, long limit) {
    const __m128i k = _mm_add_epi32(_mm_set1_epi32((int)first), _mm_setr_epi32(0, 1, 2, 3));
    const __m128i above = _mm_cmpgt_epi32(k, _mm_set1_epi32(-1));
    const __m128i below = _mm_cmpgt_epi32(_mm_set1_epi32((int)limit), k);
    return _mm_and_si128(above, below);
}

// Image and top-left corner (m×m output tiles) of tile t.
typedef struct { long image, row, column; } tile_origin;

static inline tile_origin origin_of(const fovea_winograd_tiles *w, long t, int m) {
    const long r = t % w->tilesPerImage;
    return (tile_origin){t / w->tilesPerImage, (r / w->tilesWide) * m, (r % w->tilesWide) * m};
}

// Where the patches of eight tiles are read: the offset of each patch's top-left value in channel
// 0 of x (may lie outside the image, where every lane that would read there is masked off), and
// per patch row the masks of its two pieces (all off for rows outside the image and for lanes
// past the block's tiles).
typedef struct {
    long offset[8];
    __m128i first[6][8], second[6][8];
} patch_reads;

__attribute__((target("avx2"), always_inline))
static inline void patch_reads_of(const fovea_winograd_tiles *w, long firstTile, int lanes, const int m, patch_reads *reads) {
    const int alpha = m + 2;
    const long plane = (long)w->height * w->width;
    for (int t = 0; t < 8; ++t) {
        if (t >= lanes) {
            reads->offset[t] = 0;
            for (int i = 0; i < alpha; ++i) reads->first[i][t] = reads->second[i][t] = _mm_setzero_si128();
            continue;
        }
        const tile_origin o = origin_of(w, firstTile + t, m);
        const long top = o.row - w->paddingTop, left = o.column - w->paddingLeft;
        reads->offset[t] = o.image * w->channels * plane + top * w->width + left;
        const __m128i first = inside(left, w->width), second = inside(left + 2, w->width);
        for (int i = 0; i < alpha; ++i) {
            const int rowInside = top + i >= 0 && top + i < w->height;
            reads->first[i][t] = rowInside ? first : _mm_setzero_si128();
            reads->second[i][t] = rowInside ? second : _mm_setzero_si128();
        }
    }
}

// Patch row i of the eight tiles of channel plane x: d[i·α + j] lane t = value j of tile t's row.
__attribute__((target("avx2"), always_inline))
static inline void read_patch_row(const patch_reads *reads, const float *x, long width, int i, const int m, v8 *d) {
    const int alpha = m + 2;
    __m128 piece[8];
    v8 rows[4], values[4];
    for (int t = 0; t < 8; ++t) piece[t] = _mm_maskload_ps(x + reads->offset[t] + i * width, reads->first[i][t]);
    for (int q = 0; q < 4; ++q) rows[q] = pair(piece[q], piece[q + 4]);
    transpose_within_lanes(rows, d + i * alpha);
    if (m == 4) {  // values 4 and 5: values 2 and 3 of the pieces at column 2
        for (int t = 0; t < 8; ++t) piece[t] = _mm_maskload_ps(x + reads->offset[t] + i * width + 2, reads->second[i][t]);
        for (int q = 0; q < 4; ++q) rows[q] = pair(piece[q], piece[q + 4]);
        transpose_within_lanes(rows, values);
        d[i * alpha + 4] = values[2];
        d[i * alpha + 5] = values[3];
    }
}

// fovea_winograd{4,2}_input_avx2 for m×m output tiles.
__attribute__((target("avx2"), always_inline))
static inline void input_tiles(const fovea_winograd_tiles *w, const float *x, long firstTile, int count, float *v, const int m) {
    const int alpha = m + 2;
    const long plane = (long)w->height * w->width;
    const long panel = w->panelWidth, xiStride = w->inputStride;
    for (int group = 0; group < count; group += 8) {
        patch_reads reads;
        patch_reads_of(w, firstTile + group, count - group < 8 ? count - group : 8, m, &reads);
        // Columns group..<group + 8 lie in one panel (panel widths are multiples of 8).
        float *column = v + (group / panel) * w->channels * panel + group % panel;
        for (long c = 0; c < w->channels; ++c) {
            const float *image = x + c * plane;
            v8 d[36];
            for (int i = 0; i < alpha; ++i) read_patch_row(&reads, image, w->width, i, m, d);
            input_2d(m, d);
            for (int xi = 0; xi < alpha * alpha; ++xi) _mm256_storeu_ps(column + xi * xiStride + c * panel, d[xi]);
        }
    }
}

// Where the results of eight tiles are written: each tile's output offset in channel 0 of y, its
// output rows and columns inside the output (0 for lanes past the block's tiles), and the mask of
// those columns.
typedef struct {
    long offset[8];
    int rows[8], columns[8];
    __m128i mask[8];
} tile_writes;

__attribute__((target("avx2"), always_inline))
static inline void tile_writes_of(const fovea_winograd_tiles *w, long firstTile, int lanes, const int m, tile_writes *writes) {
    for (int t = 0; t < 8; ++t) {
        writes->offset[t] = 0;
        writes->rows[t] = writes->columns[t] = 0;
        writes->mask[t] = _mm_setzero_si128();
        if (t >= lanes) continue;
        const tile_origin o = origin_of(w, firstTile + t, m);
        const long rows = w->outputHeight - o.row, columns = w->outputWidth - o.column;
        writes->offset[t] = o.image * w->outputChannels * w->outputHeight * w->outputWidth + o.row * w->outputWidth + o.column;
        writes->rows[t] = rows < m ? (int)rows : m;
        writes->columns[t] = columns < m ? (int)columns : m;
        writes->mask[t] = inside(0, writes->columns[t]);
    }
}

// Output row i of the eight tiles, o[i·m + j] lane t = column j of tile t's row, into channel plane y.
__attribute__((target("avx2"), always_inline))
static inline void write_output_row(const tile_writes *writes, const v8 *o, int i, long width, const int m, float *y) {
    if (m == 4) {
        v8 pieces[4];
        transpose_within_lanes(o + i * 4, pieces);  // pieces[q]: tile q (low lane), tile q + 4 (high lane)
        for (int t = 0; t < 8; ++t) {
            if (i >= writes->rows[t]) continue;
            const __m128 piece = t < 4 ? _mm256_castps256_ps128(pieces[t]) : _mm256_extractf128_ps(pieces[t - 4], 1);
            float *target = y + writes->offset[t] + i * width;
            if (writes->columns[t] == 4) _mm_storeu_ps(target, piece);
            else _mm_maskstore_ps(target, writes->mask[t], piece);
        }
    } else {
        // low: tiles 0, 1 | 4, 5; high: tiles 2, 3 | 6, 7 (two values each)
        const v8 low = _mm256_unpacklo_ps(o[i * 2], o[i * 2 + 1]), high = _mm256_unpackhi_ps(o[i * 2], o[i * 2 + 1]);
        const __m128 quarters[4] = {_mm256_castps256_ps128(low), _mm256_castps256_ps128(high),
                                    _mm256_extractf128_ps(low, 1), _mm256_extractf128_ps(high, 1)};
        for (int t = 0; t < 8; ++t) {
            if (i >= writes->rows[t]) continue;
            const __m128 quarter = quarters[t / 2];
            float *target = y + writes->offset[t] + i * width;
            if (writes->columns[t] == 2) {
                if (t % 2 == 0) _mm_storel_pi((__m64 *)target, quarter); else _mm_storeh_pi((__m64 *)target, quarter);
            } else {
                _mm_store_ss(target, t % 2 == 0 ? quarter : _mm_movehl_ps(quarter, quarter));
            }
        }
    }
}

// fovea_winograd{4,2}_output_avx2 for m×m output tiles.
__attribute__((target("avx2"), always_inline))
static inline void output_tiles(const fovea_winograd_tiles *w, const float *products, long productStride, long firstTile, int count,
                                long firstOutput, int outputCount, const float *bias, int relu, float *y, const int m) {
    const int alpha = m + 2;
    const long plane = (long)w->outputHeight * w->outputWidth;
    const v8 zero = _mm256_setzero_ps();
    for (int group = 0; group < count; group += 8) {
        tile_writes writes;
        tile_writes_of(w, firstTile + group, count - group < 8 ? count - group : 8, m, &writes);
        for (int row = 0; row < outputCount; ++row) {
            const long k = firstOutput + row;
            v8 p[36], o[16];
            for (int xi = 0; xi < alpha * alpha; ++xi) p[xi] = _mm256_loadu_ps(products + xi * productStride + row * w->paddedWidth + group);
            output_2d(m, p, o);
            const v8 b = WINOGRAD_SPLAT(bias[k]);
            for (int i = 0; i < m * m; ++i) {
                o[i] = o[i] + b;
                if (relu) o[i] = _mm256_blendv_ps(o[i], zero, _mm256_cmp_ps(o[i], zero, _CMP_LT_OQ));
            }
            for (int i = 0; i < m; ++i) write_output_row(&writes, o, i, w->outputWidth, m, y + k * plane);
        }
    }
}

__attribute__((target("avx2")))
void fovea_winograd4_input_avx2(const fovea_winograd_tiles *w, const float *x, long firstTile, int count, float *v) {
    input_tiles(w, x, firstTile, count, v, 4);
}

__attribute__((target("avx2")))
void fovea_winograd2_input_avx2(const fovea_winograd_tiles *w, const float *x, long firstTile, int count, float *v) {
    input_tiles(w, x, firstTile, count, v, 2);
}

__attribute__((target("avx2")))
void fovea_winograd4_output_avx2(const fovea_winograd_tiles *w, const float *products, long productStride, long firstTile, int count,
                                 long firstOutput, int outputCount, const float *bias, int relu, float *y) {
    output_tiles(w, products, productStride, firstTile, count, firstOutput, outputCount, bias, relu, y, 4);
}

__attribute__((target("avx2")))
void fovea_winograd2_output_avx2(const fovea_winograd_tiles *w, const float *products, long productStride, long firstTile, int count,
                                 long firstOutput, int outputCount, const float *bias, int relu, float *y) {
    output_tiles(w, products, productStride, firstTile, count, firstOutput, outputCount, bias, relu, y, 2);
}
