// C kernels for Fovea's Dispatch backend: GEMM micro-kernels for AVX2+FMA and AVX-512, the
// shifted-image convolution kernels, panel packers and Winograd tile transforms, each compiled with
// a per-function target attribute (no global compiler flags) and used only after a CPU check; and
// per-thread scratch buffers for GEMM packing.
#ifndef FOVEA_CFOVEAKERNELS_H
#define FOVEA_CFOVEAKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has AVX2 and FMA (the C micro-kernel can run), else 0.
int fovea_cpu_has_avx2_fma(void);

/// Asks the caches for `rows` rows of `floats` floats from `first` (row stride `stride` floats)
/// ahead of their use, one prefetch per 64-byte line: for operands read in short rows far apart
/// (the residual a convolution adds in its tile epilogue), which the hardware prefetchers do not
/// follow. A hint only: any address may be given.
static inline void fovea_prefetch_rows(const float *first, long stride, int rows, int floats) {
    for (int r = 0; r < rows; r++) {
        for (int i = 0; i < floats; i += 16) __builtin_prefetch(first + r * stride + i, 0, 3);
    }
}

/// The 6×16 micro-kernel: C[0..<m, 0..<n] (= or +=) Apanel · Bpanel, with
///   Apanel: kc steps of 6 floats (column p of a 6-row sliver of A, rows padded with zeros),
///   Bpanel: kc steps of 16 floats (row p of a 16-column sliver of B, 64-byte aligned),
///   C: row-major with row stride ldc; m ≤ 6, n ≤ 16 (edges are computed in full and stored
///   partially). accumulate = 0 overwrites C, 1 adds to it.
/// Requires fovea_cpu_has_avx2_fma().
void fovea_sgemm_kernel_6x16_avx2(long kc, const float *a, const float *b, float *c, long ldc,
                                  int m, int n, int accumulate);

/// The AVX-512 micro-kernels: C[0..<m, 0..<n] (= or +=) Apanel · Bpanel for an MR×32 tile
/// (MR = 8, 12 or 14), with
///   Apanel: kc steps of MR floats, Bpanel: kc steps of 32 floats (64-byte aligned),
///   C: row-major with row stride ldc; m ≤ MR, n ≤ 32 (edges stored through write masks).
///   accumulate = 0 overwrites C, 1 adds to it.
/// Require fovea_cpu_has_avx512f().
void fovea_sgemm_kernel_8x32_avx512(long kc, const float *a, const float *b, float *c, long ldc,
                                    int m, int n, int accumulate);
void fovea_sgemm_kernel_12x32_avx512(long kc, const float *a, const float *b, float *c, long ldc,
                                     int m, int n, int accumulate);
void fovea_sgemm_kernel_14x32_avx512(long kc, const float *a, const float *b, float *c, long ldc,
                                     int m, int n, int accumulate);
/// The 12×32 kernel's first 4 or 8 rows only, for the ragged last A panel of a product (m ≤ 4 or
/// m ≤ 8 live rows): the same A panel layout (12 floats per step, zero past m), the same FMAs for
/// each computed row, so the same bits, without the FMAs of the panel's zero rows.
/// Require fovea_cpu_has_avx512f().
void fovea_sgemm_kernel_12x32_rows4_avx512(long kc, const float *a, const float *b, float *c, long ldc,
                                           int m, int n, int accumulate);
void fovea_sgemm_kernel_12x32_rows8_avx512(long kc, const float *a, const float *b, float *c, long ldc,
                                           int m, int n, int accumulate);

/// Entries the offsets table of the shifted-image kernels must have past its
/// last step (read for prefetching only; any in-range offsets, e.g. zeros).
#define FOVEA_SHIFTED_IMAGE_OFFSET_SLACK 8

/// The 12×32 micro-kernel with B read from an image instead of a packed panel:
///   C[i, j] (= or +=) Σ_{p<kc} Apanel[p·12 + i] · image[offsets[p] + j]   for i < m ≤ 12, j < n ≤ 32,
/// Apanel as for fovea_sgemm_kernel_12x32_avx512; image[offsets[p] + j] is read only for j < n.
/// `offsets` holds kc + FOVEA_SHIFTED_IMAGE_OFFSET_SLACK entries. Requires fovea_cpu_has_avx512f().
void fovea_shifted_image_kernel_12x32_avx512(long kc, const float *a, const float *image, const int32_t *offsets,
                                             float *c, long ldc, int m, int n, int accumulate);

/// The 6×16 AVX2+FMA micro-kernel with B read from an image instead of a packed panel:
///   C[i, j] (= or +=) Σ_{p<kc} Apanel[p·6 + i] · image[offsets[p] + j]   for i < m ≤ 6, j < n ≤ 16,
/// Apanel as for fovea_sgemm_kernel_6x16_avx2 (the same FMAs in the same order); image[offsets[p] + j]
/// is read only for j < n. `offsets` holds kc + FOVEA_SHIFTED_IMAGE_OFFSET_SLACK entries.
/// Requires fovea_cpu_has_avx2_fma().
void fovea_shifted_image_kernel_6x16_avx2(long kc, const float *a, const float *image, const int32_t *offsets,
                                          float *c, long ldc, int m, int n, int accumulate);

/// C[0..<m, 0..<n] (+)= A · Bpanel for the shifted-image backward-filter: A's row i (i < m ≤ 12)
/// at step p is image[rows[i] + p] (rows has 12 entries; those from m on are not read), Bpanel is
/// kc steps of 32 floats (64-byte aligned). Requires fovea_cpu_has_avx512f().
void fovea_shifted_rows_kernel_12x32_avx512(long kc, const float *image, const int32_t *rows, const float *b,
                                            float *c, long ldc, int m, int n, int accumulate);
/// The same for the AVX2 6×16 tile (m ≤ 6, n ≤ 16; rows has 6 entries): Bpanel is kc steps of 16
/// floats. Requires fovea_cpu_has_avx2_fma().
void fovea_shifted_rows_kernel_6x16_avx2(long kc, const float *image, const int32_t *rows, const float *b,
                                         float *c, long ldc, int m, int n, int accumulate);
/// Max pooling of `count` consecutive outputs of one output row whose windows lie inside the row:
/// output l takes the taps plane[(firstRow + i·rowStep)·width + firstColumn + l·stride + j] for
/// i < rowTaps, j < kernel (stride 1 or 2, columns contiguous), in that row-major order, by the
/// rule of NaiveDevice.maxPool2dForward (the first tap, replaced by any strictly larger one or any
/// NaN); writes out[l] and, unless `argmax` is NULL, argmax[l] (the chosen tap's index in the
/// plane). Reads only those taps. Requires fovea_cpu_has_avx512f().
void fovea_max_pool_row_avx512(const float *plane, long width, long firstRow, int rowTaps, long rowStep, long firstColumn,
                               int kernel, int stride, int count, float *out, int32_t *argmax);
/// One tile of the pointwise forward (a 1×1, stride-1, unpadded convolution) with output channels
/// in the vector lanes: for channels j < `channels` (≤ 32) and positions i < `positions` (1…14),
///   y[j·ldy + i] = epilogue(Σ_{c<depth} w[32·c + j] · x[c·ldx + i]),
/// the sum reduced as the GEMM micro-kernels reduce it with kc = `block`: an FMA chain from zero over
/// each block of `block` steps, the blocks' sums added in order;
/// w a packed panel of `depth` steps of 32 weights (zero past `channels`), x the image at the
/// tile's first position (x[c·ldx + i] is read only for i < positions), y the output likewise.
/// The epilogue, in this order: + bias[j] (when `bias` is not NULL and bias[j] ≠ 0), +
/// residual[j·ldy + i] (when `residual` is not NULL), max(0, ·) with NaN kept (when `relu`).
/// Requires fovea_cpu_has_avx512f().
void fovea_pointwise_tile_32x14_avx512(long depth, long block, const float *x, long ldx, const float *w, float *y, long ldy,
                                       int positions, int channels, const float *bias, const float *residual, int relu);
/// The same tile with step c's image row at x + offsets[c] instead of x + c·ldx (the shifted image's
/// taps over zero-padded phase planes, `ChannelLanesConvolution`): `offsets` holds depth +
/// FOVEA_SHIFTED_IMAGE_OFFSET_SLACK entries (the slack read for prefetching only).
/// Requires fovea_cpu_has_avx512f().
void fovea_shifted_channels_tile_32x14_avx512(long depth, long block, const float *x, const int32_t *offsets, const float *w,
                                              float *y, long ldy, int positions, int channels, const float *bias,
                                              const float *residual, int relu);

/// The tile layout of a Winograd F(4×4, 3×3) convolution (`WinogradTiles`; F(2×2): read 2 for
/// every 4 and 4×4 patches for 6×6 ones below): tile t is image
/// t / tilesPerImage, tile row (t % tilesPerImage) / tilesWide, tile column (t % tilesPerImage) %
/// tilesWide; its 6×6 input patch starts at (4·row − paddingTop, 4·column − paddingLeft), its 4×4
/// output at (4·row, 4·column), clipped to outputHeight × outputWidth.
typedef struct {
    int channels, height, width;
    int outputChannels, outputHeight, outputWidth;
    int paddingTop, paddingLeft;
    long tilesWide, tilesPerImage;
    long paddedWidth;  ///< the row stride (in tiles) of products; v's columns per ξ
    long panelWidth;   ///< v's columns per panel (a divisor of paddedWidth, a multiple of 8; = paddedWidth: plain rows)
    long inputStride;  ///< floats from one ξ of v to the next (at least channels·paddedWidth)
} fovea_winograd_tiles;

/// v[ξ·inputStride + (j / panelWidth)·C·panelWidth + c·panelWidth + j % panelWidth] = (Bᵀ d[c, t] B)_ξ
/// for the tiles t = firstTile + j, j < count: per ξ, panels of panelWidth columns, each C rows
/// (the B panels of a GEMM micro-kernel of that width; with panelWidth = paddedWidth, plain
/// [C × paddedWidth] rows). Columns from count on are not written. Requires fovea_cpu_has_avx512f().
void fovea_winograd4_input_avx512(const fovea_winograd_tiles *tiles, const float *x, long firstTile, int count, float *v);

/// y[n, k, 4×4 window of tile t] = (Aᵀ M[k, t] A) + bias[k] (then max(·, 0) where relu ≠ 0, NaN
/// kept) for k = firstOutput..<+outputCount, with M_ξ[k, t] = products[ξ·productStride + (k −
/// firstOutput)·paddedWidth + t − firstTile]. Requires fovea_cpu_has_avx512f().
void fovea_winograd4_output_avx512(const fovea_winograd_tiles *tiles, const float *products, long productStride, long firstTile,
                                   int count, long firstOutput, int outputCount, const float *bias, int relu, float *y);

/// The same two transforms for F(2×2, 3×3) (ξ < 16). Require fovea_cpu_has_avx512f().
void fovea_winograd2_input_avx512(const fovea_winograd_tiles *tiles, const float *x, long firstTile, int count, float *v);
void fovea_winograd2_output_avx512(const fovea_winograd_tiles *tiles, const float *products, long productStride, long firstTile,
                                   int count, long firstOutput, int outputCount, const float *bias, int relu, float *y);

/// The four transforms above with AVX2, eight tiles per vector (any eight consecutive tiles, across
/// tile rows and images), with the same results bit for bit; the input transform writes zeros in
/// the columns from count up to the next multiple of 8 (so v's panels must hold them). Require
/// fovea_cpu_has_avx2_fma().
void fovea_winograd4_input_avx2(const fovea_winograd_tiles *tiles, const float *x, long firstTile, int count, float *v);
void fovea_winograd4_output_avx2(const fovea_winograd_tiles *tiles, const float *products, long productStride, long firstTile,
                                 int count, long firstOutput, int outputCount, const float *bias, int relu, float *y);
void fovea_winograd2_input_avx2(const fovea_winograd_tiles *tiles, const float *x, long firstTile, int count, float *v);
void fovea_winograd2_output_avx2(const fovea_winograd_tiles *tiles, const float *products, long productStride, long firstTile,
                                 int count, long firstOutput, int outputCount, const float *bias, int relu, float *y);

/// Transposing panel packing: out[p·width + i] = a[i·lda + p] for i < rows (≤ width), 0 for
/// rows ≤ i < width, p < length. Packs A (width 12) and Bᵀ (width 32) for the 12×32 kernel.
/// sums[a·8 + r] = Σ_{i<length} w[a·ldw + i]·x[r·ldx + i] for a < weightRows, r < rows
/// (1 ≤ rows ≤ 8): one pass over each weight row, a 16-lane FMA accumulator per pair, masked
/// tail, lanes added last (dot_rows_avx512.c). Up to 4 weight rows at once (3 with more than 4
/// input rows). Requires fovea_cpu_has_avx512f().
void fovea_dot_row_blocks_avx512(const float *w, long ldw, int weightRows, const float *x, long ldx, int rows, long length,
                                 float *sums);

/// As fovea_dot_row_blocks_avx512 (same arguments and layout, 1 ≤ rows ≤ 8), with 8-lane
/// accumulators: blocks of up to 4 weight rows × 3 input rows, 3 × 4, or smaller, run in one pass
/// (dot_rows_avx2.c). Requires fovea_cpu_has_avx2_fma().
void fovea_dot_row_blocks_avx2(const float *w, long ldw, int weightRows, const float *x, long ldx, int rows, long length,
                               float *sums);

/// Requires fovea_cpu_has_avx512f().
void fovea_pack_transposed_avx512(const float *a, long lda, int rows, long length, int width, float *out);

/// As fovea_pack_transposed_avx512, with 8×8 register transposes (pack_avx2.c): width 6 packs A
/// and width 16 packs Bᵀ for the 6×16 kernel (any width > 0 works). Requires fovea_cpu_has_avx2_fma().
void fovea_pack_transposed_avx2(const float *a, long lda, int rows, long length, int width, float *out);

/// One phase plane of one channel: plane[i·planeWidth + j] = source[(rowStride·i + firstRow)·width +
/// columnStride·j + firstColumn] where that row and column lie in the height × width image, else 0,
/// for i < planeHeight, j < planeWidth; columnStride 1 or 2 (phase_planes_avx512.c). Reads nothing
/// outside the image. Requires fovea_cpu_has_avx512f().
void fovea_phase_plane_avx512(const float *source, long height, long width, long rowStride, long columnStride, long firstRow,
                              long firstColumn, long planeHeight, long planeWidth, float *plane);

/// A 64-byte-aligned buffer of at least `floats` floats owned by the calling thread (slot 0 to 3),
/// reused across calls and freed when the thread exits. Returns NULL if allocation fails.
float *fovea_thread_scratch(int slot, size_t floats);

/// Runs `iterations` × 12 independent 8-wide FMAs (192 flops per iteration) and returns a value
/// that depends on all of them. Requires fovea_cpu_has_avx2_fma().
float fovea_fma_probe_avx2(long iterations);

/// 1 when this CPU has AVX-512F, else 0.
int fovea_cpu_has_avx512f(void);

/// `iterations` × 12 independent 16-wide FMAs (384 flops per iteration). Requires AVX-512F.
float fovea_fma_probe_avx512(long iterations);

/// A hint to fetch the cache line holding `address` into all cache levels (no effect on results).
static inline void fovea_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

/// A convolution's sliding window over one image plane (sizes in elements).
typedef struct {
    long height, width;            // input H, W
    long outputHeight, outputWidth; // P, Q
    long imageSize;                // elements from one image to the next (C·H·W)
    long kernelHeight, kernelWidth;
    long strideHeight, strideWidth;
    long padHeight, padWidth;
    long dilationHeight, dilationWidth;
} fovea_convolution_window;

/// Packs steps `firstTap..<firstTap+depth` of one 32-column panel of the implicit column matrix
///   col[t, j] = image[n·imageSize + c·H·W + (p·sh − ph + r·dh)·W + q·sw − pw + s·dw]   (0 outside the image),
///   t = (c·R + r)·S + s, j = (n·P + p)·Q + q (columns may run on into the following images;
///   n·imageSize must fit in 32 bits),
/// columns firstColumn..<firstColumn+live (zero lanes past `live`), into out[step·32 + lane]
/// (any alignment). Requires fovea_cpu_has_avx512f().
void fovea_pack_convolution_panel32_avx512(const fovea_convolution_window *window, const float *image,
                                           long firstColumn, int live, long firstTap, long depth,
                                           float *out);

/// A per-channel batch norm (evaluation mode) with its activation, applied to values as they are
/// packed: y = finish((x − mean[c])·scale[c] + shift[c]) for channel c, by a subtraction, a
/// multiplication and an addition (no fused multiply-add), then finish: none (activation 0),
/// ReLU (1: y < 0 → 0, NaN kept) or leaky ReLU (2: y ≤ 0 → y·slope) — the values of the Dispatch
/// backend's `BatchNormCoefficients.apply`, bit for bit.
typedef struct {
    const float *mean, *scale, *shift;
    int activation;
    float slope;
} fovea_channel_normalization;

/// y[i] = finish((x[i] − mean[channel])·scale[channel] + shift[channel]) for i < count, as
/// fovea_channel_normalization says (`x` and `y` may be the same): the values of
/// `BatchNormCoefficients.apply`, bit for bit (normalize_channels_avx512.c). Requires
/// fovea_cpu_has_avx512f().
void fovea_normalize_channel_avx512(const float *x, long count, const fovea_channel_normalization *normalization, long channel,
                                    float *y);

/// y[q] = ((((0 + a) + b) + c) + d) / 4 for q < outputs, with a, b = top[2q], top[2q + 1] and
/// c, d = top[width + 2q], top[width + 2q + 1], each first normalised as channel `channel` of
/// `normalization` when it is not NULL (2×2 average pooling at stride 2, DenseNet's transition):
/// the Dispatch backend's `averagePairs`, bit for bit (average_pairs_avx512.c). Reads 2·outputs
/// floats of each row only. Requires fovea_cpu_has_avx512f().
void fovea_average_pairs_avx512(const float *top, long width, long outputs, const fovea_channel_normalization *normalization,
                                long channel, float *y);

/// As fovea_pack_convolution_panel32_avx512 for a 16-column panel (the AVX2 6×16 kernel's):
/// out[step·16 + lane], zero lanes past `live` (≤ 16); masked loads for stride 1 across, masked
/// gathers otherwise (conv_pack_avx2.c). With a `normalization` (or NULL), every value of a step
/// whose tap reads channel c of `image` — the lanes past `live` and the padding too — is then
/// normalised as channel c. Requires fovea_cpu_has_avx2_fma().
void fovea_pack_convolution_panel16_avx2(const fovea_convolution_window *window, const float *image,
                                         long firstColumn, int live, long firstTap, long depth,
                                         const fovea_channel_normalization *normalization, float *out);

/// The same matrix as a plain row-major im2col block: out[step·count + i] = col[firstTap + step,
/// firstColumn + i] for step < depth, i < count. Requires fovea_cpu_has_avx512f().
void fovea_im2col_avx512(const fovea_convolution_window *window, const float *image,
                         long firstColumn, long count, long firstTap, long depth, float *out);

/// Its adjoint (col2im): image[c·H·W + ih·W + iw] += columns[step·count + i] for every entry of
/// that block read from the image (padding entries are dropped), in the order of
/// `Im2col.accumulate`. Requires fovea_cpu_has_avx512f().
void fovea_col2im_avx512(const fovea_convolution_window *window, const float *columns,
                         long firstColumn, long count, long firstTap, long depth, float *image);

/// One 32-column panel of the *transposed* column matrix (B = colᵀ of backward-filter,
/// ∂W = ∂y · colᵀ): out[step·32 + lane] = col[firstTap + lane, firstColumn + step] for
/// step < length, lane < live (≤ 32), zero lanes past `live`. Writes `live × length` im2col rows
/// into `scratch` (kept in L1/L2) and transposes them in registers. Requires fovea_cpu_has_avx512f().
void fovea_pack_convolution_transposed_panel32_avx512(const fovea_convolution_window *window, const float *image,
                                                      long firstColumn, long length, long firstTap, int live,
                                                      float *scratch, float *out);

/// fovea_im2col_avx512, fovea_col2im_avx512 and fovea_pack_convolution_transposed_panel32_avx512
/// for AVX2 (conv_pack_avx2.c): the same blocks, sums in the same order, and 16-column transposed
/// panels (live ≤ 16) for the 6×16 kernel. Require fovea_cpu_has_avx2_fma().
void fovea_im2col_avx2(const fovea_convolution_window *window, const float *image,
                       long firstColumn, long count, long firstTap, long depth, float *out);
void fovea_col2im_avx2(const fovea_convolution_window *window, const float *columns,
                       long firstColumn, long count, long firstTap, long depth, float *image);
void fovea_pack_convolution_transposed_panel16_avx2(const fovea_convolution_window *window, const float *image,
                                                    long firstColumn, long length, long firstTap, int live,
                                                    float *scratch, float *out);

#endif
