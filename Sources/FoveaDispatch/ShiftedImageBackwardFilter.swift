import CFoveaKernels
import FoveaCore
import FoveaKernels

/// The Dispatch backend's backward-filter for stride-1, one-group layers with the AVX-512 or AVX2
/// kernel, as the transposed product
///
///     ∂Wᵀ [C·R·S × K] = Σₙ col_n [C·R·S × positions] · ∂y_nᵀ [positions × K]
///
/// whose A operand is never packed: over the zero-padded image (width Wp = W + 2·padW), row
/// (c, r, s) of col at *virtual* position j = oh·Wp + ow is `image[c·Hp·Wp + r·d·Wp + s·d + j]`,
/// so the micro-kernel (`fovea_shifted_rows_kernel_12x32_avx512`, `…_6x16_avx2`) broadcasts
/// straight from MR (12 or 6) shifted rows of the image. The virtual positions with ow ≥ Q (the
/// padding columns between output rows) get ∂y = 0 in the packed B panels, so they add nothing.
/// B — ∂yᵀ, NR (32 or 16) output channels per panel — is packed per image and depth block (`kc`
/// positions) by register transposes, K·positions values against C·R·S·K·positions multiply-adds.
///
/// **Column-shifted copies.** Over the padded image, the Wp − Q padding columns of every output
/// row are positions too: (Wp − Q)/Wp of the multiply-adds are wasted (22 % for a 5×5 layer at
/// 14×14, Wp = 18). Where that costs more than copying (`compactsColumns`), the image is copied
/// S times instead, copy s shifted left by s·d columns and cut to Q:
/// `X[c, s, y, ow] = xpad[c, y, ow + s·d]` (`[C, S, Hp, Q]` per image). Row (c, r, s) of col at
/// position j = oh·Q + ow is then `X[(c·S + s)·Hp·Q + r·d·Q + j]`, the positions are exactly the
/// P·Q outputs, and ∂yᵀ is packed from ∂y as it is.
///
/// The direct path (`DirectGEMMBackwardFilter`) instead builds colᵀ panels from the image for
/// every block (im2col rows into L1, then a transpose), work that for few output channels
/// (DenseNet's 128→32 3×3) is as large as the multiply.
///
/// **Split**: the C·R·S rows in whole MR-row panels, one block per worker; every element is
/// reduced over images, then depth blocks, then positions, in the same order whatever the split,
/// so results are bit-identical at any thread count. No partial sums.
///
/// The padded planes, their size and the row offsets are the forward shifted-image path's
/// (`ShiftedImageConvolution`: at stride 1 its phase planes are the zero-padded image).
struct ShiftedImageBackwardFilter: Sendable {
    let threads: Int
    let kernel: GEMMKernel
    /// The most workspace a call may take (the device's limit): the padded images, ∂Wᵀ, and each
    /// worker's B panels.
    var workspaceLimitBytes = Im2colConvolution.defaultWorkspaceLimitBytes
    /// Whether to run on column-shifted copies: nil decides by cost (`compactsColumns`); tests
    /// force either way.
    var forcedCompaction: Bool?

    /// The forward shifted-image path, for its plane geometry, row offsets and padding.
    private var planes: ShiftedImageConvolution {
        ShiftedImageConvolution(threads: threads, kernel: kernel, workspaceLimitBytes: workspaceLimitBytes)
    }

    /// What a backward-filter call of `g` runs with, from `blocking(for:)` (the planner keeps it in the plan).
    struct Blocking: Equatable, Sendable {
        /// Whether the image has padding (then a zero-padded copy is made), else it is read as it
        /// is; false when `compactsColumns`.
        var isPadded: Bool
        /// Whether the image is copied as S column-shifted copies cut to Q columns (see above).
        var compactsColumns: Bool
        /// Hp = H + 2·padH and the virtual width: Wp = W + 2·padW, or Q when `compactsColumns`.
        var planeHeight: Int, planeWidth: Int
        /// The floats of one image as the kernel reads it: C·Hp·Wp (padded or as it is), or
        /// C·S·Hp·Q when `compactsColumns`.
        var imageFloats: Int
        /// (P − 1)·Wp + Q: the virtual positions of one image (the GEMM depth per image); P·Q when
        /// `compactsColumns`.
        var virtualPositions: Int
        /// ⌈C·R·S / MR⌉: the MR-row panels of ∂Wᵀ, shared among the workers in contiguous runs.
        var panels: Int
        /// ⌈K/NR⌉·NR·kc: the floats of one worker's B panels (∂yᵀ of one depth block).
        var panelFloats: Int
        /// The floats a call takes whatever its workers: the image copies (N·imageFloats, when
        /// isPadded or compactsColumns) and ∂Wᵀ (C·R·S·K).
        var sharedFloats: Int
        /// Workers: min(threads, panels, the B panels the workspace limit affords beside
        /// sharedFloats), at least 1.
        var workers: Int

        /// (sharedFloats + workers · panelFloats) · 4.
        var workspaceBytes: Int { (sharedFloats + workers * panelFloats) * MemoryLayout<Float>.stride }
    }

    /// The blocking of a call of `g`: `workers` follows the thread count.
    func blocking(for g: Conv2DGeometry) -> Blocking {
        let planes = self.planes
        let compacts = compactsColumns(g)
        let width = compacts ? g.outputWidth : planes.planeWidth(g)
        return Blocking(
            isPadded: !compacts && isPadded(g), compactsColumns: compacts, planeHeight: planes.planeHeight(g), planeWidth: width,
            imageFloats: imageFloats(g), virtualPositions: (g.outputHeight - 1) * width + g.outputWidth,
            panels: (g.columnRows + kernel.mr - 1) / kernel.mr, panelFloats: panelFloats(g), sharedFloats: sharedFloats(g),
            workers: workers(g))
    }

    /// What copying one float costs against one multiply-add, for `compactsColumns`: a float
    /// copied costs about one 16-lane vector FMA of time, so about 16 multiply-adds; 32 keeps a
    /// margin. Measured in Docs/Performance.md.
    static let copyCostInMultiplyAdds = 32

    /// Whether `g` runs on column-shifted copies: when the multiply-adds saved on the padding
    /// columns, ((P − 1)·Wp + Q − P·Q)·C·R·S·K per image, exceed the floats copied beyond the
    /// padded image, (S·Q − Wp)·C·Hp, at `copyCostInMultiplyAdds` each. Cnn-bn's 32→64 5×5 at
    /// 14×14 does (5.6 : 1); DenseNet's 128→32 3×3 at 14×14 and 7×7 do not (about 1 : 1).
    func compactsColumns(_ g: Conv2DGeometry) -> Bool {
        if let forcedCompaction { return forcedCompaction }
        let (width, height) = (planes.planeWidth(g), planes.planeHeight(g))
        let (p, q) = (g.outputHeight, g.outputWidth)
        guard width > q else { return false }
        let saved = ((p - 1) * width + q - p * q) * g.columnRows * g.outputChannels
        let copied = (g.kernelWidth * q - width) * g.inputChannels * height
        return saved > Self.copyCostInMultiplyAdds * copied
    }

    /// The floats of one image as the kernel reads it (`Blocking.imageFloats`).
    private func imageFloats(_ g: Conv2DGeometry) -> Int {
        compactsColumns(g) ? g.inputChannels * g.kernelWidth * planes.planeHeight(g) * g.outputWidth : planes.phasePlaneFloats(g)
    }

    /// Stride 1, one group, the AVX-512 12×32 or AVX2 6×16 kernel, 32-bit row offsets, and the workspace of one worker
    /// within the limit — one, not `threads`: which path runs must not depend on the thread count
    /// (the paths round differently); more workers run only as far as the limit affords (`Blocking.workers`).
    func handles(_ g: Conv2DGeometry) -> Bool {
        tile != nil && g.options.stride == 1 && g.groups == 1
            && g.batch > 0 && g.outputHeight > 0 && g.outputWidth > 0
            && (sharedFloats(g) + panelFloats(g)) * MemoryLayout<Float>.stride <= workspaceLimitBytes
            && g.batch * imageFloats(g) <= Int(Int32.max)
    }

    /// The micro-kernel for this kernel's tile, or nil where there is none.
    var tile: ShiftedRowsTile? {
        switch (kernel.instructionSet, kernel.mr, kernel.nr) {
        case (.avx512, 12, 32): { fovea_shifted_rows_kernel_12x32_avx512($0, $1, $2, $3, $4, $5, $6, $7, $8) }
        case (.avx2, 6, 16): { fovea_shifted_rows_kernel_6x16_avx2($0, $1, $2, $3, $4, $5, $6, $7, $8) }
        default: nil
        }
    }

    /// `fovea_shifted_rows_kernel_12x32_avx512`'s signature.
    typealias ShiftedRowsTile = @convention(c) (
        _ kc: Int, _ image: UnsafePointer<Float>?, _ rows: UnsafePointer<Int32>?, _ b: UnsafePointer<Float>?,
        _ c: UnsafeMutablePointer<Float>?, _ ldc: Int, _ m: Int32, _ n: Int32, _ accumulate: Int32
    ) -> Void

    private func isPadded(_ g: Conv2DGeometry) -> Bool { g.options.padding.height > 0 || g.options.padding.width > 0 }
    /// Workers: at most `threads` and one per MR-row panel, and no more B panels than the limit
    /// affords beside `sharedFloats` (at least one: `handles` checked that one fits).
    private func workers(_ g: Conv2DGeometry) -> Int {
        let affordable = (workspaceLimitBytes / MemoryLayout<Float>.stride - sharedFloats(g)) / panelFloats(g)
        return max(1, min(threads, (g.columnRows + kernel.mr - 1) / kernel.mr, affordable))
    }
    private func panelFloats(_ g: Conv2DGeometry) -> Int { PackedGEMM.roundUp(g.outputChannels, to: kernel.nr) * kernel.kc }
    /// The image copies and ∂Wᵀ: the floats a call takes whatever its workers.
    private func sharedFloats(_ g: Conv2DGeometry) -> Int {
        (isPadded(g) || compactsColumns(g) ? g.batch * imageFloats(g) : 0) + g.columnRows * g.outputChannels
    }

    /// ∂W `[K, C, R, S]` of `g` from ∂y and x with `blocking` (`blocking(for: g)`): the image
    /// zero-padded (when padded), each worker's run of panels of ∂Wᵀ (`ShiftedRowsCall.run`),
    /// then ∂Wᵀ transposed (`transpose`).
    func backwardFilter(gradOutput: Tensor, input: Tensor, geometry g: Conv2DGeometry, blocking: Blocking) -> Tensor {
        let image = blocking.compactsColumns ? columnShifted(input, g, blocking) : blocking.isPadded ? zeroPadded(input, g, blocking) : input
        // Row (c, r, s) of col starts at c·Hp·Wp + r·d·Wp + s·d (or (c·S + s)·Hp·Q + r·d·Q); virtual positions per image.
        let rowOffsets = blocking.compactsColumns ? Self.compactedOffsets(g, planeHeight: blocking.planeHeight) : planes.offsets(g)
        let scratch = ScratchBuffers(workers: blocking.workers, capacity: blocking.panelFloats)
        var transposed = Tensor(uninitialized: [g.columnRows * g.outputChannels])  // every row is written by its worker
        image.withUnsafeBufferPointer { x in
            gradOutput.withUnsafeBufferPointer { dy in
                transposed.withUnsafeMutableBufferPointer { result in
                    rowOffsets.withUnsafeBufferPointer { offsets in
                        let call = ShiftedRowsCall(geometry: g, blocking: blocking, kernel: kernel, tile: tile!, image: x.baseAddress!,
                                                   gradOutput: dy.baseAddress!, offsets: offsets.baseAddress!,
                                                   result: result.baseAddress!, scratch: scratch)
                        Parallel.forEach(blocking.workers, threads: blocking.workers) { worker, item in call.run(worker: worker, item: item) }
                    }
                }
            }
        }
        return transpose(transposed, g)
    }

    /// ∂W[k, t] = ∂Wᵀ[t, k], parallel over the K rows of ∂W.
    private func transpose(_ transposed: Tensor, _ g: Conv2DGeometry) -> Tensor {
        let (k, taps) = (g.outputChannels, g.columnRows)
        var gradWeight = Tensor(uninitialized: g.weightShape)  // every element is written below
        transposed.withUnsafeBufferPointer { source in
            gradWeight.withUnsafeMutableBufferPointer { target in
                let (source, target) = (SendablePointer(source.baseAddress!), SendablePointer(target.baseAddress!))
                Parallel.forEach(k, threads: threads) { _, row in
                    for t in 0..<taps { target.pointer[row * taps + t] = source.pointer[t * k + row] }
                }
            }
        }
        return gradWeight
    }

    /// ∂yᵀ of one image at virtual positions `from..<from+length` in `⌈K/NR⌉` panels of `kc` steps × NR
    /// channels (panel p at `p·kc·NR`): ∂y[k, oh·Q + ow] at virtual position oh·Wp + ow for ow < Q,
    /// zero for the padding columns ow ≥ Q and for channels past K. `kernel` gives kc and NR and
    /// packs (`GEMMKernel.transposingPacker`).
    static func packGradients(_ dy: UnsafePointer<Float>, _ g: Conv2DGeometry, virtualWidth wp: Int, from: Int, length: Int,
                              kernel: GEMMKernel, into b: UnsafeMutablePointer<Float>) {
        let (k, q, positions) = (g.outputChannels, g.outputWidth, g.columnCount)
        let (kc, nr) = (kernel.kc, kernel.nr)
        guard let transposingPacker = kernel.transposingPacker else { preconditionFailure("\(kernel) packs no ∂yᵀ panels") }
        for panel in 0..<((k + nr - 1) / nr) {
            let out = b + panel * kc * nr
            let rows = Int32(min(nr, k - panel * nr))
            if wp == q {
                // No padding columns: the positions are ∂y's own.
                transposingPacker(dy + panel * nr * positions + from, positions, rows, length, Int32(nr), out)
                continue
            }
            var j = from
            while j < from + length {
                let (oh, ow) = j.quotientAndRemainder(dividingBy: wp)
                if ow < q {
                    let run = min(q - ow, from + length - j)
                    transposingPacker(dy + panel * nr * positions + oh * q + ow, positions, rows, run, Int32(nr), out + (j - from) * nr)
                    j += run
                } else {
                    let run = min(wp - ow, from + length - j)
                    (out + (j - from) * nr).update(repeating: 0, count: run * nr)
                    j += run
                }
            }
        }
    }

    /// The row offsets of col over the column-shifted copies: (c·S + s)·Hp·Q + r·d·Q for row
    /// (c, r, s), then the kernel's slack of zeros (as `ShiftedImageConvolution.offsets`).
    static func compactedOffsets(_ g: Conv2DGeometry, planeHeight hp: Int) -> [Int32] {
        let (q, dh) = (g.outputWidth, g.options.dilation.height)
        var table: [Int32] = []
        table.reserveCapacity(g.columnRows + Int(FOVEA_SHIFTED_IMAGE_OFFSET_SLACK))
        for c in 0..<g.inputChannels {
            for r in 0..<g.kernelHeight {
                for s in 0..<g.kernelWidth { table.append(Int32(((c * g.kernelWidth + s) * hp + r * dh) * q)) }
            }
        }
        return table + [Int32](repeating: 0, count: Int(FOVEA_SHIFTED_IMAGE_OFFSET_SLACK))
    }

    /// x as S column-shifted copies per channel, `[N, C, S, Hp, Q]`:
    /// `X[n, c, s, y, ow] = x[n, c, y − padH, ow + s·dW − padW]`, zero outside x.
    private func columnShifted(_ input: Tensor, _ g: Conv2DGeometry, _ blocking: Blocking) -> Tensor {
        let (hp, q, taps) = (blocking.planeHeight, g.outputWidth, g.kernelWidth)
        let (h, w) = (g.inputHeight, g.inputWidth)
        let (padH, padW, dw) = (g.options.padding.height, g.options.padding.width, g.options.dilation.width)
        var shifted = Tensor(uninitialized: [g.batch * g.inputChannels * taps * hp * q])  // every element is written below
        input.withUnsafeBufferPointer { x in
            shifted.withUnsafeMutableBufferPointer { y in
                let (x, y) = (SendablePointer(x.baseAddress!), SendablePointer(y.baseAddress!))
                Parallel.forEach(g.batch * g.inputChannels, threads: threads) { _, plane in
                    for s in 0..<taps {
                        ShiftedImageConvolution.phasePlane(
                            x.pointer + plane * h * w, height: h, width: w, rowStride: 1, columnStride: 1, firstRow: -padH,
                            firstColumn: s * dw - padW, planeHeight: hp, planeWidth: q, into: y.pointer + (plane * taps + s) * hp * q)
                    }
                }
            }
        }
        return shifted
    }

    /// x with its padding written out: `[N, C, H + 2·padH, W + 2·padW]`, zeros around.
    private func zeroPadded(_ input: Tensor, _ g: Conv2DGeometry, _ blocking: Blocking) -> Tensor {
        let (hp, wp) = (blocking.planeHeight, blocking.planeWidth)
        var padded = Tensor(uninitialized: [g.batch, g.inputChannels, hp, wp])  // every element is written below
        input.withUnsafeBufferPointer { x in
            padded.withUnsafeMutableBufferPointer { y in
                let (x, y) = (SendablePointer(x.baseAddress!), SendablePointer(y.baseAddress!))
                Parallel.forEach(g.batch * g.inputChannels, threads: threads) { _, plane in
                    ShiftedImageConvolution.splitIntoPhases(x.pointer + plane * g.inputHeight * g.inputWidth, geometry: g,
                                                            planeHeight: hp, planeWidth: wp, into: y.pointer + plane * hp * wp)
                }
            }
        }
        return padded
    }
}

/// One call of `ShiftedImageBackwardFilter`: its operands and blocking, and one worker's step.
private struct ShiftedRowsCall: @unchecked Sendable {
    let geometry: Conv2DGeometry
    let blocking: ShiftedImageBackwardFilter.Blocking
    let kernel: GEMMKernel
    let tile: ShiftedImageBackwardFilter.ShiftedRowsTile
    /// The images as the kernel reads them (zero-padded, column-shifted or as they are), `imageFloats` each.
    let image: UnsafePointer<Float>
    /// ∂y `[N, K, P·Q]`.
    let gradOutput: UnsafePointer<Float>
    /// The row offsets of col (`ShiftedImageConvolution.offsets`).
    let offsets: UnsafePointer<Int32>
    /// ∂Wᵀ `[C·R·S, K]`.
    let result: UnsafeMutablePointer<Float>
    /// One worker's B panels each (`panelFloats`).
    let scratch: ScratchBuffers

    /// Work item `item` (one per worker): panels item·panels/workers ..< (item + 1)·panels/workers
    /// of ∂Wᵀ, summed over images, then depth blocks of `kc` virtual positions, in order.
    func run(worker: Int, item: Int) {
        let b = blocking, workers = blocking.workers, kc = kernel.kc
        let panels = (item * b.panels / workers)..<((item + 1) * b.panels / workers)
        let packed = scratch[worker]
        for n in 0..<geometry.batch {
            for d0 in stride(from: 0, to: b.virtualPositions, by: kc) {
                let length = min(kc, b.virtualPositions - d0)
                ShiftedImageBackwardFilter.packGradients(
                    gradOutput + n * geometry.outputChannels * geometry.columnCount, geometry, virtualWidth: b.planeWidth,
                    from: d0, length: length, kernel: kernel, into: packed)
                multiply(panels, source: image + n * b.imageFloats + d0, packed: packed, length: length,
                         accumulate: n == 0 && d0 == 0 ? 0 : 1)
            }
        }
    }

    /// ∂Wᵀ[panel rows, 0..<K] (+)= col[panel rows, depth block] · ∂yᵀ[depth block, 0..<K] for `panels`,
    /// in MR × NR tiles (`ShiftedImageBackwardFilter.tile`).
    private func multiply(_ panels: Range<Int>, source: UnsafePointer<Float>, packed: UnsafeMutablePointer<Float>, length: Int,
                          accumulate: Int32) {
        let (k, taps) = (geometry.outputChannels, geometry.columnRows)
        let (mr, nr, kc) = (kernel.mr, kernel.nr, kernel.kc)
        for panel in panels {
            let first = panel * mr, rows = min(mr, taps - first)
            for kp in 0..<((k + nr - 1) / nr) {
                tile(length, source, offsets + first, packed + kp * kc * nr,
                     result + first * k + kp * nr, k, Int32(rows), Int32(min(nr, k - kp * nr)), accumulate)
            }
        }
    }
}
