import CFoveaKernels
import FoveaCore
import FoveaKernels

/// Convolution forward with nothing packed on the image side: the GEMM
///
///     y[n] [K × V] = W [K × C·R·S] · col [C·R·S × V]
///
/// over the *phase planes* of each image: for stride (sh, sw) and padding (ph, pw),
///
///     Z[(c·sh + a)·sw + b, i, j] = x[c, sh·i + a − ph, sw·j + b − pw]   (0 outside the image),
///
/// C·sh·sw planes of Hz = ⌈(H + 2ph)/sh⌉ × Wz = ⌈(W + 2pw)/sw⌉ (at stride 1: the zero-padded image),
/// and "virtual" positions v = oy·Wz + ox (ox < Wz, so each output row carries Wz − Wo columns that
/// are computed and dropped). Tap (c, r, s) reads the padded image at (sh·oy + dh·r, sw·ox + dw·s),
/// which is phase plane ((c·sh + dh·r mod sh)·sw + dw·s mod sw) at (oy + ⌊dh·r/sh⌋, ox + ⌊dw·s/sw⌋),
/// so col[t, v] = Z[offsets[t] + v] with offsets[t] that plane's start + ⌊dh·r/sh⌋·Wz + ⌊dw·s/sw⌋:
/// a row of col is the phase planes shifted, and the kernel's shifted-image variant
/// (`GEMMKernel.shiftedImage`: `fovea_shifted_image_kernel_12x32_avx512`, `…_6x16_avx2`) loads
/// its NR B values of a step straight from them, where the direct GEMM packs them first
/// (`DirectGEMMConvolution`). At stride 2 or 4 that replaces the packer's strided gathers and
/// permutes by one pass that splits the image into phases. The weights are packed once per call
/// (or kept, `PackedWeightCache`) in the GEMM's A layout, in their own tap order.
///
/// V = (Ho − 1)·Wz + Wo, so the last read is inside the last phase plane. Without horizontal
/// padding, at stride 1 and with S = 1 the virtual positions are the output's and the kernel writes
/// the output; otherwise each block of columns goes through a per-worker staging block from which
/// the valid columns are copied (with the bias and the fused activation).
///
/// **Split**: (image, block of `Blocking.blockColumns` virtual columns) items, each a whole GEMM column
/// block with every depth block in order, so every output element is reduced by the same
/// micro-kernel calls whatever the thread count.
struct ShiftedImageConvolution: Sendable {
    let threads: Int
    let kernel: GEMMKernel
    /// The most bytes a call allocates (padded images, staging blocks), the device's workspace limit.
    var workspaceLimitBytes = Im2colConvolution.defaultWorkspaceLimitBytes
    /// Packs (and keeps) the weights, as for the direct GEMM.
    let weights: DirectGEMMConvolution

    init(threads: Int, kernel: GEMMKernel, workspaceLimitBytes: Int = Im2colConvolution.defaultWorkspaceLimitBytes) {
        self.threads = threads
        self.kernel = kernel
        self.workspaceLimitBytes = workspaceLimitBytes
        weights = DirectGEMMConvolution(threads: threads, kernel: kernel, workspaceLimitBytes: workspaceLimitBytes)
    }

    /// What a forward call of `g` runs with, from `blocking(for:)` (the planner keeps it in the plan).
    struct Blocking: Equatable, Sendable {
        /// Hz = ⌈(H + 2ph)/sh⌉ and Wz = ⌈(W + 2pw)/sw⌉: the phase planes' size.
        var planeHeight: Int, planeWidth: Int
        /// C·sh·sw·Hz·Wz: the floats of one image's phase planes.
        var phasePlaneFloats: Int
        /// Whether the image is split into phase planes (padding or a stride), else read as it is.
        var splitsIntoPhases: Bool
        /// Whether columns go through staging: Wz ≠ Q (virtual positions are not output positions).
        var staged: Bool
        /// V = (P − 1)·Wz + Q: the virtual columns of one image.
        var virtualColumns: Int
        /// Columns per item: min(widest, max(64, ⌈V / target⌉ rounded up to 32)) with target =
        /// max(1, ⌈4·threads / N⌉) blocks per image and widest = min(max(⌊65536/K⌋ rounded down
        /// to 32, 64), 1024) (a staging block of K × columns near 256 KiB).
        var blockColumns: Int
        /// Images split into phase planes at once: N without phase planes; else all of them when
        /// they take at most half the workspace limit, else as many as fit (at least 1).
        var imagesPerChunk: Int
        /// Workers: min(threads, `WorkGrain.items`, the staging blocks the limit affords beside
        /// `sharedBytes`), at least 1.
        var workers: Int
        /// The bytes a call takes whatever its workers: the phase planes of one chunk of images
        /// (imagesPerChunk · phasePlaneFloats · 4 when splitsIntoPhases), the offsets table
        /// ((C·R·S + slack) · 4) and the packed weights.
        var sharedBytes: Int
        /// Floats of one worker's staging block: K · blockColumns when staged, else 0.
        var stagingFloats: Int

        /// ⌈V / blockColumns⌉: the column blocks of one image.
        var blocksPerImage: Int { (virtualColumns + blockColumns - 1) / blockColumns }
        /// sharedBytes + workers · stagingFloats · 4.
        var workspaceBytes: Int { sharedBytes + workers * stagingFloats * MemoryLayout<Float>.stride }
    }

    /// The blocking of a forward call of `g`: `blockColumns` and `workers` follow the thread count.
    func blocking(for g: Conv2DGeometry) -> Blocking {
        let width = blockColumns(g)
        let stagingFloats = staged(g) ? g.outputChannels * width : 0
        return Blocking(
            planeHeight: planeHeight(g), planeWidth: planeWidth(g), phasePlaneFloats: phasePlaneFloats(g),
            splitsIntoPhases: needsPhasePlanes(g), staged: staged(g), virtualColumns: virtualColumns(g), blockColumns: width,
            imagesPerChunk: imagesPerChunk(g), workers: workers(g), sharedBytes: sharedBytes(g), stagingFloats: stagingFloats)
    }

    /// One group, a kernel with a shifted-image variant (AVX-512 12×32, AVX2 6×16), 32-bit offsets, and the workspace of one worker within
    /// the limit — one, not `threads`: which path runs must not depend on the thread count (the
    /// paths round differently); more workers run only as far as the limit affords (`Blocking.workers`).
    func handles(_ g: Conv2DGeometry) -> Bool {
        kernel.shiftedImage != nil && g.groups == 1
            && phasePlaneFloats(g) < Int(Int32.max) && sharedBytes(g) + stagingBytesPerWorker(g) <= workspaceLimitBytes
    }

    /// Hz and Wz: the phase planes' size (at stride 1, the padded image's).
    func planeHeight(_ g: Conv2DGeometry) -> Int {
        (g.inputHeight + 2 * g.options.padding.height + g.options.stride.height - 1) / g.options.stride.height
    }
    func planeWidth(_ g: Conv2DGeometry) -> Int {
        (g.inputWidth + 2 * g.options.padding.width + g.options.stride.width - 1) / g.options.stride.width
    }
    /// C·sh·sw·Hz·Wz: the floats of one image's phase planes.
    func phasePlaneFloats(_ g: Conv2DGeometry) -> Int {
        g.inputChannels * g.options.stride.height * g.options.stride.width * planeHeight(g) * planeWidth(g)
    }
    /// Whether the image must be split into phase planes (padding or a stride), or is read as it is.
    private func needsPhasePlanes(_ g: Conv2DGeometry) -> Bool {
        g.options.padding.height > 0 || g.options.padding.width > 0 || g.options.stride.height > 1 || g.options.stride.width > 1
    }
    /// Whether virtual positions differ from output positions (then columns go through staging).
    private func staged(_ g: Conv2DGeometry) -> Bool { planeWidth(g) != g.outputWidth }
    private func virtualColumns(_ g: Conv2DGeometry) -> Int { (g.outputHeight - 1) * planeWidth(g) + g.outputWidth }

    /// Columns per item: a multiple of 32 whose staging block (K × columns) stays near 256 KiB, and
    /// narrow enough for about four items per worker. (Blocks only select columns; each element's
    /// reduction is the same whatever their width, so the thread count may choose it.)
    private func blockColumns(_ g: Conv2DGeometry) -> Int {
        let widest = widestBlock(g)
        let blocksPerImage = max(1, (4 * threads + g.batch - 1) / max(g.batch, 1))
        let even = (virtualColumns(g) + blocksPerImage - 1) / blocksPerImage
        return min(widest, max(64, (even + 31) / 32 * 32))
    }

    /// Images split into phase planes at once: all of them when they take at most half the limit,
    /// else as many as fit.
    private func imagesPerChunk(_ g: Conv2DGeometry) -> Int {
        guard needsPhasePlanes(g) else { return max(g.batch, 1) }
        let bytes = phasePlaneFloats(g) * MemoryLayout<Float>.stride
        return max(1, min(g.batch, (workspaceLimitBytes / 2) / max(bytes, 1)))
    }

    /// The widest block `blockColumns` gives at any thread count.
    private func widestBlock(_ g: Conv2DGeometry) -> Int { min(max((65_536 / max(g.outputChannels, 1)) / 32 * 32, 64), 1024) }

    /// Workers: at most `threads` and `WorkGrain.items`, and no more staging blocks than the limit
    /// affords beside `sharedBytes` (at least one: `handles` checked that one fits).
    private func workers(_ g: Conv2DGeometry) -> Int {
        let perWorker = stagingBytesPerWorker(g)
        let affordable = perWorker == 0 ? Int.max : (workspaceLimitBytes - sharedBytes(g)) / perWorker
        return max(1, min(threads, WorkGrain.items, affordable))
    }

    /// The bytes a call takes whatever its workers: phase planes (one chunk of images), the offsets
    /// table and the packed weights.
    private func sharedBytes(_ g: Conv2DGeometry) -> Int {
        let planes = needsPhasePlanes(g) ? imagesPerChunk(g) * phasePlaneFloats(g) * MemoryLayout<Float>.stride : 0
        let offsets = (g.columnRows + Int(FOVEA_SHIFTED_IMAGE_OFFSET_SLACK)) * MemoryLayout<Int32>.stride
        return planes + weights.packedWeightBytes(g) + offsets
    }

    /// One worker's staging block (K × columns) at its widest, when columns are staged.
    private func stagingBytesPerWorker(_ g: Conv2DGeometry) -> Int {
        staged(g) ? g.outputChannels * widestBlock(g) * MemoryLayout<Float>.stride : 0
    }

    /// offsets[(c·R + r)·S + s] = ((c·sh + dh·r mod sh)·sw + dw·s mod sw)·Hz·Wz + ⌊dh·r/sh⌋·Wz + ⌊dw·s/sw⌋,
    /// then the prefetch slack (zeros).
    func offsets(_ g: Conv2DGeometry) -> [Int32] {
        let (hz, wz) = (planeHeight(g), planeWidth(g))
        let (dh, dw) = (g.options.dilation.height, g.options.dilation.width)
        let (sh, sw) = (g.options.stride.height, g.options.stride.width)
        var table: [Int32] = []
        table.reserveCapacity(g.columnRows + Int(FOVEA_SHIFTED_IMAGE_OFFSET_SLACK))
        for c in 0..<g.inputChannels {
            for r in 0..<g.kernelHeight {
                for s in 0..<g.kernelWidth {
                    let plane = (c * sh + dh * r % sh) * sw + dw * s % sw
                    table.append(Int32(plane * hz * wz + dh * r / sh * wz + dw * s / sw))
                }
            }
        }
        return table + [Int32](repeating: 0, count: Int(FOVEA_SHIFTED_IMAGE_OFFSET_SLACK))
    }

    /// `y = epilogue(conv(x, w) + bias)` with `blocking` (`blocking(for: g)`): per chunk of
    /// images, their phase planes (`ShiftedImageForwardCall.splitIntoPhases`), then every
    /// (image, column block) item (`ShiftedImageForwardCall.run`).
    /// With an `outputScale`, the weights are `w[k, …]·outputScale[k]` (kept packed as such).
    func forward(input: Tensor, weight: Tensor, outputScale: Tensor? = nil, bias: Tensor?, epilogue activation: ConvolutionEpilogue = .none,
                 residual: Tensor? = nil, geometry g: Conv2DGeometry, blocking: Blocking) -> Tensor {
        precondition(kernel.shiftedImage != nil, "ShiftedImageConvolution: \(kernel.name) has no shifted-image kernel")
        var output = Tensor(uninitialized: g.outputShape)  // every element is written below
        let packed = weights.cachedPackedWeights(weight, scale: outputScale, geometry: g)
            ?? weights.packWeights(weight.scalingOutputChannels(by: outputScale), geometry: g)
        let table = offsets(g)
        let phasePlanes = ScratchBuffers(workers: 1, capacity: blocking.splitsIntoPhases ? blocking.imagesPerChunk * blocking.phasePlaneFloats : 0)
        let staging = ScratchBuffers(workers: blocking.workers, capacity: blocking.stagingFloats)
        let biasValues = bias?.scalars
        Tensor.withOptionalPointer(residual) { residualPointer in
            input.withUnsafeBufferPointer { x in
                packed.withUnsafeBufferPointer { a in
                    output.withUnsafeMutableBufferPointer { y in
                        table.withUnsafeBufferPointer { offsets in
                            let call = ShiftedImageForwardCall(
                                geometry: g, blocking: blocking, kernel: kernel, input: x.baseAddress!, weights: a.baseAddress!,
                                offsets: offsets.baseAddress!, output: y.baseAddress!, phasePlanes: phasePlanes[0], staging: staging,
                                bias: biasValues, activation: activation, residual: residualPointer)
                            for first in stride(from: 0, to: g.batch, by: blocking.imagesPerChunk) {
                                let count = min(blocking.imagesPerChunk, g.batch - first)
                                if blocking.splitsIntoPhases {
                                    Parallel.forEach(count * g.inputChannels, threads: threads) { _, plane in
                                        call.splitIntoPhases(image: first, plane: plane)
                                    }
                                }
                                Parallel.forEach(count * blocking.blocksPerImage, threads: blocking.workers) { worker, item in
                                    call.run(firstImage: first, item: item, worker: worker)
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// `C[0..<rows, columns] = A · col[·, columns]` with A the weights packed for the whole call
    /// (depth blocks of `kc`, panels of MR rows) and col[t, v] = source[offsets[t] + v]: per depth
    /// block, each NR-column strip against every MR-row panel, in order.
    fileprivate static func multiply(_ a: UnsafePointer<Float>, rows m: Int, depth: Int, source: UnsafePointer<Float>,
                                 offsets: UnsafePointer<Int32>, columns: Range<Int>, into c: UnsafeMutablePointer<Float>, ldc: Int,
                                 kernel: GEMMKernel) {
        let (mr, nr, micro) = (kernel.mr, kernel.nr, kernel.shiftedImage!)  // `forward` checked it
        let paddedRows = PackedGEMM.roundUp(m, to: mr)
        for pc in stride(from: 0, to: depth, by: kernel.kc) {
            let length = min(kernel.kc, depth - pc)
            let aBlock = a + pc * paddedRows
            for jr in stride(from: columns.lowerBound, to: columns.upperBound, by: nr) {
                let n = Int32(min(nr, columns.upperBound - jr))
                for ir in stride(from: 0, to: m, by: mr) {
                    micro(length, aBlock + ir * length, source + jr, offsets + pc, c + ir * ldc + jr, ldc, Int32(min(mr, m - ir)), n,
                          pc == 0 ? 0 : 1)
                }
            }
        }
    }

    /// Z[(a·sw + b), i, j] = source[sh·i + a − ph, sw·j + b − pw] (0 outside) for one channel's
    /// sh·sw phase planes of Hz × Wz, each by `phasePlane`.
    static func splitIntoPhases(_ source: UnsafePointer<Float>, geometry g: Conv2DGeometry, planeHeight hz: Int, planeWidth wz: Int,
                                into target: UnsafeMutablePointer<Float>) {
        let (sh, sw) = (g.options.stride.height, g.options.stride.width)
        let (ph, pw) = (g.options.padding.height, g.options.padding.width)
        for a in 0..<sh {
            for b in 0..<sw {
                phasePlane(source, height: g.inputHeight, width: g.inputWidth, rowStride: sh, columnStride: sw, firstRow: a - ph,
                           firstColumn: b - pw, planeHeight: hz, planeWidth: wz, into: target + (a * sw + b) * hz * wz)
            }
        }
    }

    /// plane[i·planeWidth + j] = source[(rowStride·i + firstRow)·width + columnStride·j + firstColumn]
    /// where that row and column lie in the height × width image, else 0: on AVX-512 CPUs with a
    /// column stride ≤ 2 by `fovea_phase_plane_avx512` (masked loads and stores, no call per row:
    /// DenseNet's 16-wide planes spent more time in three `memset`/`memcpy` calls per row than in
    /// copying), else row by row here (`vectorized: false` forces that, for tests).
    static func phasePlane(_ source: UnsafePointer<Float>, height h: Int, width w: Int, rowStride rs: Int, columnStride cs: Int,
                           firstRow: Int, firstColumn fc: Int, planeHeight hz: Int, planeWidth wz: Int,
                           into plane: UnsafeMutablePointer<Float>, vectorized: Bool = GEMMKernel.cpuHasAVX512) {
        if vectorized && cs <= 2 {
            fovea_phase_plane_avx512(source, h, w, rs, cs, firstRow, fc, hz, wz, plane)
            return
        }
        // Columns j with 0 ≤ cs·j + fc < w: j in firstColumn..<endColumn.
        let firstColumn = min(wz, max(0, (-fc + cs - 1) / cs))
        let endColumn = max(firstColumn, min(wz, (w - fc + cs - 1) / cs))
        for i in 0..<hz {
            let line = plane + i * wz
            let row = rs * i + firstRow
            guard row >= 0 && row < h else {
                line.update(repeating: 0, count: wz)
                continue
            }
            line.update(repeating: 0, count: firstColumn)
            let input = source + row * w + (cs * firstColumn + fc)
            if cs == 1 {
                (line + firstColumn).update(from: input, count: endColumn - firstColumn)
            } else {
                for j in 0..<(endColumn - firstColumn) { line[firstColumn + j] = input[j * cs] }
            }
            (line + endColumn).update(repeating: 0, count: wz - endColumn)
        }
    }

    /// Moves a block's valid columns (ox < Wo of each virtual row it covers) from staging into the
    /// output, adding the bias (and the residual, `[K, P, Q]` of this image like `output`) and
    /// applying the epilogue; unstaged, applies them in place.
    fileprivate static func finish(columns: Range<Int>, c: UnsafeMutablePointer<Float>, ldc: Int, output: UnsafeMutablePointer<Float>,
                               staged: Bool, finishes: Bool, channels: Int, outputWidth wo: Int, paddedWidth wp: Int,
                               planeSize: Int, bias: [Float]?, activation: ConvolutionEpilogue, residual: UnsafePointer<Float>?) {
        guard staged || finishes else { return }
        var v = columns.lowerBound
        while v < columns.upperBound {
            let (oy, ox) = (v / wp, v % wp)
            let end = min(columns.upperBound, oy * wp + wp)
            let valid = max(0, min(wo, end - oy * wp) - ox)
            if valid > 0 {
                for k in 0..<channels {
                    let target = output + k * planeSize + oy * wo + ox
                    // The residual row 8 channels on: rows a plane apart defeat the hardware prefetchers.
                    if finishes, let residual, k + 8 < channels {
                        fovea_prefetch_rows(residual + (target - output) + 8 * planeSize, 0, 1, Int32(valid))
                    }
                    if staged { target.update(from: c + k * ldc + v, count: valid) }
                    if finishes {
                        activation.apply(row: target, count: valid, bias: bias?[k] ?? 0, adding: residual.map { $0 + (target - output) })
                    }
                }
            }
            v = end
        }
    }
}

/// One forward call of `ShiftedImageConvolution`: its operands and blocking, and its two steps —
/// split one input plane of a chunk into phase planes, and compute one (image, column block) item.
private struct ShiftedImageForwardCall: @unchecked Sendable {
    let geometry: Conv2DGeometry
    let blocking: ShiftedImageConvolution.Blocking
    let kernel: GEMMKernel
    /// `[N, C, H, W]`.
    let input: UnsafePointer<Float>
    /// The weights packed once in the GEMM's A layout (`DirectGEMMConvolution.packWeights`).
    let weights: UnsafePointer<Float>
    /// `ShiftedImageConvolution.offsets`.
    let offsets: UnsafePointer<Int32>
    /// `[N, K, P, Q]`.
    let output: UnsafeMutablePointer<Float>
    /// The phase planes of one chunk of images: `imagesPerChunk · phasePlaneFloats` floats.
    let phasePlanes: UnsafeMutablePointer<Float>
    /// One staging block of K × blockColumns per worker (when staged).
    let staging: ScratchBuffers
    let bias: [Float]?
    let activation: ConvolutionEpilogue
    /// Added to the output after the bias, before the activation: `[N, K, P, Q]` like `output`, or nil.
    let residual: UnsafePointer<Float>?

    /// Input plane `plane` (channel of an image, counted from image `image`) into its sh·sw phase planes.
    func splitIntoPhases(image: Int, plane: Int) {
        let g = geometry
        let planeSize = g.inputHeight * g.inputWidth
        ShiftedImageConvolution.splitIntoPhases(input + image * g.inputChannels * planeSize + plane * planeSize, geometry: g,
                                                planeHeight: blocking.planeHeight, planeWidth: blocking.planeWidth,
                                                into: phasePlanes + plane * (blocking.phasePlaneFloats / g.inputChannels))
    }

    /// Item `item` of the chunk from image `firstImage`: image firstImage + item / blocksPerImage,
    /// column block item % blocksPerImage, into its staging block (worker `worker`) or the output.
    func run(firstImage: Int, item: Int, worker: Int) {
        let g = geometry, b = blocking
        let (local, block) = (item / b.blocksPerImage, item % b.blocksPerImage)
        let image = firstImage + local
        let (m, planeSize) = (g.outputChannels, g.outputHeight * g.outputWidth)
        let source = b.splitsIntoPhases ? UnsafePointer(phasePlanes + local * b.phasePlaneFloats)
                                        : input + image * g.inputChannels * g.inputHeight * g.inputWidth
        let columns = (block * b.blockColumns)..<min(b.virtualColumns, (block + 1) * b.blockColumns)
        // The block's C: staging (K × width, column 0 = columns.lowerBound) or the output itself.
        let (c, ldc) = b.staged ? (staging[worker] - columns.lowerBound, b.blockColumns) : (output + image * m * planeSize, planeSize)
        ShiftedImageConvolution.multiply(weights, rows: m, depth: g.columnRows, source: source, offsets: offsets, columns: columns,
                                         into: c, ldc: ldc, kernel: kernel)
        ShiftedImageConvolution.finish(columns: columns, c: c, ldc: ldc, output: output + image * m * planeSize, staged: b.staged,
                                       finishes: bias != nil || activation != .none || residual != nil, channels: m,
                                       outputWidth: g.outputWidth, paddedWidth: b.planeWidth, planeSize: planeSize, bias: bias,
                                       activation: activation, residual: residual.map { $0 + image * m * planeSize })
    }
}
