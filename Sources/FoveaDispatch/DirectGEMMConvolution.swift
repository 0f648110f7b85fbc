import FoveaCore
import FoveaKernels

/// The Dispatch backend's convolution forward: one packed GEMM per (image, group),
///
///     y[n, group's K/g channels, :] = W_group [K/g × (C/g)·R·S] · col [(C/g)·R·S × P·Q]  (+ bias)
///
/// whose B panels are packed straight from the image (`ConvolutionPacking`; for a 1×1, stride-1,
/// unpadded layer the image *is* B and the portable kernel copies its rows, while the AVX-512 and
/// AVX2 packers, which fetch the next panel's rows ahead, still pack it), so no im2col matrix
/// is written and no workspace is needed beyond the GEMM's per-thread packing buffers. The bias and the fused activation
/// (`ConvolutionEpilogue`) are applied by the GEMM's epilogue while each output tile is in cache.
///
/// **Split** (`Split`): whole GEMMs across workers when the (image, group) units divide evenly
/// among them; otherwise each unit's GEMM is cut into `parts` blocks of output columns (positions,
/// in whole NR panels) or of output rows (channels, in whole MR panels), whichever leaves the
/// largest block cheapest, so that every worker is busy even at batch 1. Every output element is
/// reduced over k by the same sequence of micro-kernel calls whatever the split, so results are
/// bit-identical at any thread count.
struct DirectGEMMConvolution: Sendable {
    let threads: Int
    let kernel: GEMMKernel
    /// The most bytes the weights packed once per call may take (the device's workspace limit);
    /// larger ones are packed block by block as for one image.
    var workspaceLimitBytes = Im2colConvolution.defaultWorkspaceLimitBytes
    /// Where packed weights are kept across calls while the weight tensor is unchanged (nil: never).
    var weightCache: PackedWeightCache? = .shared

    /// `units` (image, group) GEMMs, each cut into `parts` blocks of `partSize` columns
    /// (`byColumns`) or rows; `items = units · parts`.
    struct Split: Equatable, Sendable {
        var units: Int, parts: Int, byColumns: Bool, partSize: Int
        var items: Int { units * parts }
    }

    /// What a forward call of `g` runs with, from `blocking(for:)` (the planner keeps it in the plan).
    struct Blocking: Equatable, Sendable {
        /// Whether the images of the batch are the columns of one GEMM per group
        /// (`imagesAsColumns(_:)`: a native kernel's C packer, N > 1, P·Q < 1024, staging within the limit).
        var imagesAsColumns: Bool
        /// n, the columns of each GEMM: P·Q, or N·P·Q with images as columns.
        var columnsPerGEMM: Int
        /// The work items: units = (imagesAsColumns ? 1 : N)·groups GEMMs, each cut into parts
        /// blocks (`split(units:m:n:k:)`, parts = threads / gcd(units, threads) or 1).
        var split: Split
        /// Whether the call packs the weights once for all its GEMMs: where the weights would be
        /// packed again (one GEMM per image at N > 1, or n > `nc` columns) and
        /// packedWeightBytes + stagingBytes ≤ `workspaceLimitBytes`.
        var packsWeightsOnce: Bool
        /// Bytes of the weights packed in the GEMM's A layout: groups · ⌈K/g⌉_MR · C/g·R·S · 4.
        var packedWeightBytes: Int
        /// Bytes of the staging output [K × N·P·Q] with images as columns (N·K·P·Q · 4), else 0.
        var stagingBytes: Int

        /// The workspace one forward call allocates: the staging output, and the packed weights
        /// when `packsWeightsOnce`.
        var workspaceBytes: Int { stagingBytes + (packsWeightsOnce ? packedWeightBytes : 0) }
    }

    /// Packing one element costs about this many flops of micro-kernel time (a rough model used
    /// only to choose between splitting rows or columns).
    static let packingCostInFlops = 32.0

    /// The blocking of a forward call of `g` at `threads`: only `split` depends on the thread count.
    func blocking(for g: Conv2DGeometry) -> Blocking {
        let batched = imagesAsColumns(g)
        let n = g.columnCount * (batched ? g.batch : 1)
        let packedWeightBytes = packedWeightBytes(g)
        let stagingBytes = batched ? outputBytes(g) : 0
        let repacked = batched ? n > kernel.nc : (g.batch > 1 || g.columnCount > kernel.nc)
        return Blocking(
            imagesAsColumns: batched, columnsPerGEMM: n,
            split: split(units: (batched ? 1 : g.batch) * g.groups, m: g.outputChannelsPerGroup, n: n, k: Double(g.columnRows)),
            packsWeightsOnce: repacked && packedWeightBytes + stagingBytes <= workspaceLimitBytes,
            packedWeightBytes: packedWeightBytes, stagingBytes: stagingBytes)
    }

    /// Whole GEMMs when the `units` divide evenly among the workers; otherwise each unit's m × n
    /// GEMM cut into `parts` blocks of columns (whole NR panels) or rows (whole MR panels),
    /// whichever leaves the largest block cheapest in padded flops plus packing
    /// (`packingCostInFlops` per packed element of B, and of A unless the weights are kept packed),
    /// or whole GEMMs when neither is cheaper. With kept weights a row split has every worker pack
    /// all of B (at batch 1 with a batch norm from DenseNet's parts), so columns win almost always
    /// (Docs/Performance.md, "1×1 layers split by positions at batch 1").
    private func split(units: Int, m: Int, n: Int, k: Double) -> Split {
        let (mr, nr) = (kernel.mr, kernel.nr)
        let parts = threads / greatestCommonDivisor(units, threads)
        let whole = Split(units: units, parts: 1, byColumns: true, partSize: n)
        guard parts > 1 else { return whole }
        func padded(_ x: Int, _ to: Int) -> Double { Double((x + to - 1) / to * to) }
        let columnPart = (n + parts - 1) / parts
        let columnSize = (columnPart + nr - 1) / nr * nr
        let rowPart = (m + parts - 1) / parts
        let rowSize = (rowPart + mr - 1) / mr * mr
        let c = Self.packingCostInFlops
        // Kept weights (`weightCache`; inference) are packed once, not by every worker: then only
        // B costs packing. (Training's weights change every step and are packed per call, but its
        // batches above 1 split whole images, not one GEMM.)
        let packedRowsOfA = { (rows: Int) in weightCache == nil ? Double(rows) : 0 }
        let byColumnsCost = 2 * padded(m, mr) * padded(min(columnSize, n), nr) * k + c * k * (packedRowsOfA(m) + Double(min(columnSize, n)))
        let byRowsCost = 2 * padded(min(rowSize, m), mr) * padded(n, nr) * k + c * k * (packedRowsOfA(min(rowSize, m)) + Double(n))
        let wholeCost = 2 * padded(m, mr) * padded(n, nr) * k + c * k * (packedRowsOfA(m) + Double(n))
        if min(byColumnsCost, byRowsCost) >= wholeCost { return whole }
        return byColumnsCost <= byRowsCost
            ? Split(units: units, parts: parts, byColumns: true, partSize: columnSize)
            : Split(units: units, parts: parts, byColumns: false, partSize: rowSize)
    }

    /// `y = epilogue(conv(x, w) + bias)` with `blocking` (`blocking(for: g)`): every work item's
    /// GEMM (`DirectGEMMForwardCall.run`, the bias and the epilogue applied to each output tile
    /// right after its last depth block), then, with images as columns, the staged result copied
    /// into NCHW (`unstage`).
    ///
    /// With a `residual` (of the output's shape): `y = epilogue((conv(x, w) + bias) + residual)`,
    /// added per output tile, or with images as columns while the staged result is copied out.
    ///
    /// With a `prologue` (a pointwise `g` only: 1×1, stride 1, no padding), the input is
    /// normalised and activated per channel as each B panel is packed (`BatchNormCoefficients`),
    /// the same values as that batch norm's output packed.
    ///
    /// With `transposedWeight`, `weight` is `[C/g·… = g.outputChannels, g.inputChannels]` read
    /// transposed: the backward-data of a pointwise layer as this forward
    /// (`pointwiseBackwardDataGeometry`), with no transposed copy of the weight.
    func forward(input: Tensor, weight: Tensor, outputScale: Tensor? = nil, bias: Tensor?, epilogue activation: ConvolutionEpilogue = .none,
                 residual: Tensor? = nil, prologue: BatchNormCoefficients? = nil, transposedWeight: Bool = false,
                 geometry g: Conv2DGeometry, blocking: Blocking) -> Tensor {
        forward(inputs: [input], weight: weight, outputScale: outputScale, bias: bias, epilogue: activation, residual: residual,
                prologue: prologue, transposedWeight: transposedWeight, geometry: g, blocking: blocking)
    }

    /// The pointwise forward (with a native kernel's C packer: AVX-512 or AVX2) of the channel concatenation of `parts`
    /// (`[N, Cᵢ, H, W]`, Σ Cᵢ = C), packing each B panel's steps from the part that holds their
    /// channels (`DirectGEMMForwardCall.InputPart`): the same panels, so the same results, as
    /// `forward(input:)` of the concatenation, without writing it.
    func forward(parts: [Tensor], weight: Tensor, outputScale: Tensor? = nil, bias: Tensor?, epilogue activation: ConvolutionEpilogue = .none,
                 prologue: BatchNormCoefficients? = nil, geometry g: Conv2DGeometry, blocking: Blocking) -> Tensor {
        precondition(Self.packsParts(g, kernel: kernel), "DirectGEMMConvolution: parts need a pointwise layer, one group and a native kernel's C packer")
        precondition(parts.allSatisfy { $0.shape.rank == 4 && $0.shape[0] == g.batch && $0.shape[2] == g.inputHeight && $0.shape[3] == g.inputWidth }
                     && parts.reduce(0) { $0 + $1.shape[1] } == g.inputChannels,
                     "DirectGEMMConvolution: parts \(parts.map(\.shape)) do not make the input \(g.inputShape)")
        return forward(inputs: parts, weight: weight, outputScale: outputScale, bias: bias, epilogue: activation, residual: nil,
                       prologue: prologue, transposedWeight: false, geometry: g, blocking: blocking)
    }

    /// `forward` of `inputs`: one input, or parts of a pointwise layer's input along channels.
    private func forward(inputs: [Tensor], weight: Tensor, outputScale: Tensor?, bias: Tensor?, epilogue activation: ConvolutionEpilogue,
                         residual: Tensor?, prologue: BatchNormCoefficients?, transposedWeight: Bool,
                         geometry g: Conv2DGeometry, blocking: Blocking) -> Tensor {
        precondition(!transposedWeight || (g.isPointwise && g.groups == 1 && outputScale == nil),
                     "DirectGEMMConvolution: a transposed weight needs a pointwise layer with one group and no scale")
        precondition(prologue == nil || g.isPointwise, "DirectGEMMConvolution: a batch-norm prologue needs a pointwise convolution")
        // The GEMMs write `staging` (every element): the output itself, or with images as columns
        // [K × N·P·Q]. (Not a copy of `output`: that would share its storage and copy it on the first write.)
        var staging = Tensor(uninitialized: blocking.imagesAsColumns ? [g.outputChannels * blocking.columnsPerGEMM] : g.outputShape)
        // The weights already in the GEMM's A layout (kept from earlier calls, or packed once for
        // this one), or nil: then each GEMM packs its blocks into its L2-resident buffer.
        // With an `outputScale`, w′ = w·s exists only while these calls are not kept yet.
        let kept = cachedPackedWeights(weight, scale: outputScale, geometry: g, transposed: transposedWeight)
        let weight = kept != nil ? weight : weight.scalingOutputChannels(by: outputScale)
        let packed = kept ?? (blocking.packsWeightsOnce ? packWeights(weight, geometry: g, transposed: transposedWeight) : nil)
        let biasValues = bias.map { bias in bias.withUnsafeBufferPointer { Array($0) } }
        // With images as columns the residual (NCHW) is added while unstaging, after the bias.
        let tileEpilogue: ConvolutionEpilogue = blocking.imagesAsColumns && residual != nil ? .none : activation
        Tensor.withOptionalPointer(blocking.imagesAsColumns ? nil : residual) { residualPointer in
            Tensor.withPointers(to: inputs) { x in
                (packed ?? weight).withUnsafeBufferPointer { wt in
                    staging.withUnsafeMutableBufferPointer { y in
                        let parts = inputs.count < 2 ? nil : DirectGEMMForwardCall.InputPart.parts(of: inputs, at: x, geometry: g)
                        let call = DirectGEMMForwardCall(
                            geometry: g, split: blocking.split, kernel: kernel, input: x[0], parts: parts, weights: wt.baseAddress!,
                            weightsArePacked: packed != nil, output: y.baseAddress!, bias: biasValues, activation: tileEpilogue,
                            residual: residualPointer, prologue: prologue, weightTransposed: transposedWeight, m: g.outputChannelsPerGroup, n: blocking.columnsPerGEMM, k: g.columnRows,
                            pointwise: !kernel.isNative && g.isPointwise)
                        Parallel.forEach(blocking.split.items, threads: threads) { _, item in call.run(item: item) }
                    }
                }
            }
        }
        guard blocking.imagesAsColumns else { return staging }
        return unstage(staging, geometry: g, columnsPerGEMM: blocking.columnsPerGEMM,
                       residual: residual.map { ($0, activation) })
    }

    /// `staging[k, image·P·Q + j]` (images as columns) → `output[image, k, j]`, parallel over
    /// output channels; with a residual, `output = epilogue(staged + residual)` as it is copied.
    private func unstage(_ staging: Tensor, geometry g: Conv2DGeometry, columnsPerGEMM n: Int,
                         residual: (tensor: Tensor, epilogue: ConvolutionEpilogue)?) -> Tensor {
        var output = Tensor(uninitialized: g.outputShape)  // every element is written below
        let positions = g.columnCount
        Tensor.withOptionalPointer(residual?.tensor) { residualPointer in
            staging.withUnsafeBufferPointer { staged in
                output.withUnsafeMutableBufferPointer { y in
                    let (staged, y) = (SendablePointer(staged.baseAddress!), SendablePointer(y.baseAddress!))
                    let r = residualPointer.map { SendablePointer($0) }
                    let epilogue = residual?.epilogue ?? .none
                    Parallel.forEach(g.outputChannels, threads: threads) { _, channel in
                        for image in 0..<g.batch {
                            let offset = (image * g.outputChannels + channel) * positions
                            (y.pointer + offset).update(from: staged.pointer + channel * n + image * positions, count: positions)
                            if let r { epilogue.apply(row: y.pointer + offset, count: positions, bias: 0, adding: r.pointer + offset) }
                        }
                    }
                }
            }
        }
        return output
    }
}

extension DirectGEMMConvolution {
    /// The weights (scaled per output channel by `scale`, when given: `w[k, …]·scale[k]`) in the
    /// GEMM's A layout from `weightCache`: kept from an earlier call with the same weight and
    /// scale contents, or packed now and kept (the second time these contents are packed); nil
    /// when the cache has not got them and does not keep them now.
    func cachedPackedWeights(_ weight: Tensor, scale: Tensor? = nil, geometry g: Conv2DGeometry, transposed: Bool = false) -> Tensor? {
        guard let cache = weightCache else { return nil }
        let key = PackedWeightCache.Key(contents: weight.contentStamp, scale: scale?.contentStamp,
                                        kernel: transposed ? kernel.name + " transposed" : kernel.name,
                                        rows: g.outputChannelsPerGroup, depth: g.columnRows, groups: g.groups)
        if let kept = cache.lookup(key) { return kept }
        guard cache.shouldStore(key, bytes: packedWeightBytes(g)) else { return nil }
        let packed = packWeights(weight.scalingOutputChannels(by: scale), geometry: g, transposed: transposed)
        cache.store(packed, for: key)
        return packed
    }

    /// Whether `forward(parts:…)` runs `g` with `kernel`: a pointwise layer with one group whose
    /// panels a C packer packs (a native kernel's, within its offset range).
    static func packsParts(_ g: Conv2DGeometry, kernel: GEMMKernel) -> Bool {
        g.isPointwise && g.groups == 1 && kernel.isNative && ConvolutionPacking.VectorPacker(nr: kernel.nr, geometry: g) != nil
    }

    /// Bytes of the weights packed in the GEMM's A layout: groups · (m rounded up to MR) · C·R·S Floats.
    func packedWeightBytes(_ g: Conv2DGeometry) -> Int {
        g.groups * PackedGEMM.roundUp(g.outputChannelsPerGroup, to: kernel.mr) * g.columnRows * MemoryLayout<Float>.stride
    }

    /// Whether the images of a batch become the columns of one GEMM per group (n = N·P·Q) instead
    /// of one GEMM each: for small outputs (P·Q < 1024) whose panels of NR columns an image fills
    /// to less than 95 % with AVX-512's 32 (13×13 = 169 columns fill 6 panels to 88%, 7×7 = 49 fill
    /// 2 to 77%, 8 images' 1352 and 392 fill 98% and 94%; 28×28 = 784 fills 25 panels to 98% alone,
    /// and writes its output without a staging pass), less than 90 % with AVX2's 16 (7×7 fills 4
    /// to 77%; 14×14 = 196 fills 13 to 94%, and the staging pass cost more than the 6% it saved:
    /// Docs/Performance.md, "An AVX2-only machine") — the native kernels' C packers only (they
    /// follow the columns into the next image), with the staging output within `workspaceLimitBytes`. Every output
    /// element is reduced by the same micro-kernel calls either way, so the results are the same.
    private func imagesAsColumns(_ g: Conv2DGeometry) -> Bool {
        let panels = PackedGEMM.roundUp(g.columnCount, to: kernel.nr)
        let fill = kernel.isAVX512 ? (numerator: 19, denominator: 20) : (numerator: 9, denominator: 10)
        return kernel.isNative && g.batch > 1 && g.columnCount < 1024 && g.columnCount * fill.denominator < panels * fill.numerator
            && g.batch * g.inputChannels * g.inputHeight * g.inputWidth <= Int(Int32.max)
            && outputBytes(g) <= workspaceLimitBytes
    }

    /// N·K·P·Q · 4: the output's bytes.
    private func outputBytes(_ g: Conv2DGeometry) -> Int { g.outputShape.count * MemoryLayout<Float>.stride }

    /// The weights of every group packed once for the whole call, in the GEMM's A layout: per group,
    /// per depth block of `kc` (from depth d, length L = min(kc, k − d)), `⌈m/mr⌉` panels of
    /// `mr` rows × L steps, at `group·m̄·k + d·m̄ + row·L` (m̄ = m rounded up to `mr`). Every image
    /// and every block of the split then reads them instead of packing them again (at batch 8
    /// that was 8 packings; for a GEMM wider than `nc` columns, one per column block).
    func packWeights(_ weight: Tensor, geometry g: Conv2DGeometry, transposed: Bool = false) -> Tensor {
        let (m, k) = (g.outputChannelsPerGroup, g.columnRows)
        let kernel = self.kernel
        let paddedRows = PackedGEMM.roundUp(m, to: kernel.mr)
        let depthBlocks = (k + kernel.kc - 1) / kernel.kc
        var packed = Tensor(uninitialized: [max(g.groups * paddedRows * k, 1)])  // every element is written below
        weight.withUnsafeBufferPointer { wt in
            packed.withUnsafeMutableBufferPointer { out in
                let (wt, out) = (SendablePointer(wt.baseAddress!), SendablePointer(out.baseAddress!))
                Parallel.forEach(g.groups * depthBlocks, threads: threads) { _, item in
                    let (group, block) = (item / depthBlocks, item % depthBlocks)
                    let depth = block * kernel.kc
                    let length = min(kernel.kc, k - depth)
                    PackedGEMM.packA(transposed: transposed, a: wt.pointer + group * m * k, lda: transposed ? m : k, rows: 0, count: m,
                                     depth: depth, length: length, alpha: 1, mr: kernel.mr,
                                     transposingPacker: kernel.transposingPacker,
                                     into: out.pointer + group * paddedRows * k + depth * paddedRows)
                }
            }
        }
        return packed
    }
}

