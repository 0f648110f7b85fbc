// The AVX-512 kernels of the forwards with the output channels in the vector lanes: the pointwise
// one (Fovea's `PointwiseConvolution`) and, with the image rows of each step given by a table of
// offsets into zero-padded phase planes, any convolution (`ChannelLanesConvolution`). A 1×1, stride-1,
// unpadded convolution y[k, p] = Σ_c w[k, c]·x[c, p] computed with the output channels in the
// vector lanes. A tile is 32 output channels × up to 14 consecutive positions (28 accumulators,
// two weight vectors and a broadcast: 31 of the 32 registers): each step c loads the 32 weights
// w[k0..<k0+32, c] (two vectors of a packed panel) and broadcasts x[c, p] for each of the tile's
// positions straight from the NCHW image, so the image is never packed and no tile is padded to a
// vector of positions (7×7 = 49 positions fill 4 tiles, 3 of 14 and one of 7, where a 32-column
// panel computes 64). Every output is reduced as the direct GEMM reduces it: an FMA chain from
// zero over each block of `block` steps (the GEMM's kc), the blocks' sums added in order, so the
// results are the direct GEMM's bit for bit. The
// accumulators hold the tile position by position; two 16×16 register transposes turn them into
// channel rows, which the epilogue (bias, residual, ReLU) finishes and stores into NCHW.
#include "CFoveaKernels.h"

#include <immintrin.h>

// Transposes the 16×16 matrix r[0..<16] (row i = r[i]) in place.
__attribute__((target("avx512f"), always_inline))
static inline void transpose16x16(__m512 r[16]) {
    __m512 t[16];
#pragma clang loop unroll(full)
    for (int k = 0; k < 8; ++k) {
        t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
#pragma clang loop unroll(full)
    for (int k = 0; k < 4; ++k) {
        r[4 * k + 0] = _mm512_shuffle_ps(t[4 * k], t[4 * k + 2], 0x44);
        r[4 * k + 1] = _mm512_shuffle_ps(t[4 * k], t[4 * k + 2], 0xEE);
        r[4 * k + 2] = _mm512_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0x44);
        r[4 * k + 3] = _mm512_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0xEE);
    }
#pragma clang loop unroll(full)
    for (int k = 0; k < 4; ++k) {
        t[k] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x88);
        t[4 + k] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xDD);
        t[8 + k] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x88);
        t[12 + k] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xDD);
    }
#pragma clang loop unroll(full)
    for (int k = 0; k < 4; ++k) {
        r[k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0x88);
        r[8 + k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0xDD);
        r[4 + k] = _mm512_shuffle_f32x4(t[4 + k], t[12 + k], 0x88);
        r[12 + k] = _mm512_shuffle_f32x4(t[4 + k], t[12 + k], 0xDD);
    }
}

// The tile for `positions` (a compile-time constant after inlining, 1…14) positions. Step c reads
// the image row x + c·ldx, or x + offsets[c] when `offsets` is given (the shifted image's taps).
__attribute__((target("avx512f"), always_inline))
static inline void pointwise_tile(const int positions, long depth, long block, const float *x, long ldx,
                                  const int32_t *offsets, const float *w, float *y, long ldy, int channels, const float *bias,
                                  const float *residual, int relu) {
    __m512 lo[14], hi[14];
    // The sums of the blocks finished so far, position by position (as the GEMM's C tile).
    float total[14 * 32] __attribute__((aligned(64)));
    // The tile's output rows (and the residual's) lie a plane apart, 32 short pieces that the
    // hardware prefetchers do not follow: ask for them now, to arrive while the steps run.
    for (int j = 0; j < channels; ++j) {
        __builtin_prefetch(y + j * ldy, 1, 3);
        __builtin_prefetch(y + j * ldy + positions - 1, 1, 3);
        if (residual) {
            __builtin_prefetch(residual + j * ldy, 0, 3);
            __builtin_prefetch(residual + j * ldy + positions - 1, 0, 3);
        }
    }
    const float *row = x;
    for (long start = 0; start < depth; start += block) {
    const long end = start + block < depth ? start + block : depth;
#pragma clang loop unroll(full)
    for (int i = 0; i < positions; ++i) {
        lo[i] = _mm512_setzero_ps();
        hi[i] = _mm512_setzero_ps();
    }
    for (long c = start; c < end; ++c) {
        // The image rows are a plane apart: fetch the row eight steps ahead (the offsets table
        // has FOVEA_SHIFTED_IMAGE_OFFSET_SLACK entries past the last step).
        if (offsets) {
            row = x + offsets[c];
            _mm_prefetch((const char *)(x + offsets[c + 8]), _MM_HINT_T0);
        } else {
            _mm_prefetch((const char *)(row + 8 * ldx), _MM_HINT_T0);
        }
        const __m512 w0 = _mm512_loadu_ps(w);
        const __m512 w1 = _mm512_loadu_ps(w + 16);
#pragma clang loop unroll(full)
        for (int i = 0; i < positions; ++i) {
            const __m512 xv = _mm512_set1_ps(row[i]);
            lo[i] = _mm512_fmadd_ps(xv, w0, lo[i]);
            hi[i] = _mm512_fmadd_ps(xv, w1, hi[i]);
        }
        if (!offsets) row += ldx;
        w += 32;
    }
    if (start > 0) {
#pragma clang loop unroll(full)
        for (int i = 0; i < positions; ++i) {
            lo[i] = _mm512_add_ps(lo[i], _mm512_load_ps(total + 32 * i));
            hi[i] = _mm512_add_ps(hi[i], _mm512_load_ps(total + 32 * i + 16));
        }
    }
    if (end < depth) {
#pragma clang loop unroll(full)
        for (int i = 0; i < positions; ++i) {
            _mm512_store_ps(total + 32 * i, lo[i]);
            _mm512_store_ps(total + 32 * i + 16, hi[i]);
        }
    }
    }

    const __mmask16 live = (__mmask16)((1u << positions) - 1);
    const __m512 zero = _mm512_setzero_ps();
    __m512 r[16];
#pragma clang loop unroll(full)
    for (int half = 0; half < 2; ++half) {
#pragma clang loop unroll(full)
        for (int i = 0; i < 16; ++i) r[i] = i < positions ? (half ? hi[i] : lo[i]) : zero;
        transpose16x16(r);  // r[j]: channel 16·half + j at the tile's positions
        for (int j = 0; j < 16; ++j) {
            const int channel = 16 * half + j;
            if (channel >= channels) break;
            __m512 v = r[j];
            // As ConvolutionEpilogue.apply: a zero bias is not added (−0 stays −0).
            if (bias && bias[channel] != 0) v = _mm512_add_ps(v, _mm512_set1_ps(bias[channel]));
            if (residual) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(live, residual + channel * ldy));
            // max(0, v) with 0 first: a NaN v is returned as it is, −0 stays −0 (v < 0 ? 0 : v).
            if (relu) v = _mm512_max_ps(zero, v);
            _mm512_mask_storeu_ps(y + channel * ldy, live, v);
        }
    }
}

// The tile for a run-time `positions` (1…14; others do nothing): one instance of pointwise_tile per
// count, so its loops are unrolled and its accumulators stay in registers. Inlined into both entry
// points below, whose constant `offsets` (NULL or not) each instance then specialises on.
__attribute__((target("avx512f"), always_inline))
static inline void tile_for_positions(int positions, long depth, long block, const float *x, long ldx, const int32_t *offsets,
                                      const float *w, float *y, long ldy, int channels, const float *bias, const float *residual,
                                      int relu) {
    switch (positions) {
#define FOVEA_TILE_CASE(count) \
    case count: pointwise_tile(count, depth, block, x, ldx, offsets, w, y, ldy, channels, bias, residual, relu); break;
    FOVEA_TILE_CASE(1) FOVEA_TILE_CASE(2) FOVEA_TILE_CASE(3) FOVEA_TILE_CASE(4) FOVEA_TILE_CASE(5) FOVEA_TILE_CASE(6)
    FOVEA_TILE_CASE(7) FOVEA_TILE_CASE(8) FOVEA_TILE_CASE(9) FOVEA_TILE_CASE(10) FOVEA_TILE_CASE(11) FOVEA_TILE_CASE(12)
    FOVEA_TILE_CASE(13) FOVEA_TILE_CASE(14)
#undef FOVEA_TILE_CASE
    default: break;
    }
}

__attribute__((target("avx512f")))
void fovea_pointwise_tile_32x14_avx512(long depth, long block, const float *x, long ldx, const float *w, float *y, long ldy,
                                       int positions, int channels, const float *bias, const float *residual, int relu) {
    tile_for_positions(positions, depth, block, x, ldx, NULL, w, y, ldy, channels, bias, residual, relu);
}

__attribute__((target("avx512f")))
void fovea_shifted_channels_tile_32x14_avx512(long depth, long block, const float *x, const int32_t *offsets, const float *w,
                                              float *y, long ldy, int positions, int channels, const float *bias,
                                              const float *residual, int relu) {
    tile_for_positions(positions, depth, block, x, 0, offsets, w, y, ldy, channels, bias, residual, relu);
}
