import FoveaCore
import FoveaKernels

/// The Dispatch backend's convolution forward: one packed GEMM per (image, group),
///
///     y[n, group's K/g channels, :] = W_group [K/g × (C/g)·R·S] · col [(C/g)·R·S × P·Q]  (+ bias)
///
/// whose B panels are packed straight from the image (`ConvolutionPacking`; for a 1×1, stride-1,
/// unpadded layer the image *is* B and the portable and AVX2 kernels copy its rows, while the AVX-512
/// packer, which fetches the next panel's rows ahead, still packs it: 1.1–1.2× faster at batch 8), so no im2col matrix is written and no workspace is needed
/// beyond the GEMM's per-thread packing buffers. The bias and the fused activation
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
    struct Split: Equatable {
        var units: Int, parts: Int, byColumns: Bool, partSize: Int
        var items: Int { units * parts }
    }

    /// Packing one element costs about this many flops of micro-kernel time (a rough model used
    /// only to choose between splitting rows or columns).
    static let packingCostInFlops = 32.0

    func split(_ g: Conv2DGeometry) -> Split {
        let gemms = imagesAsColumns(g) ? 1 : g.batch
        return split(units: gemms * g.groups, m: g.outputChannelsPerGroup, n: columnsPerGEMM(g), k: Double(g.columnRows))
    }

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
        let byColumnsCost = 2 * padded(m, mr) * padded(min(columnSize, n), nr) * k + c * k * Double(m + min(columnSize, n))
        let byRowsCost = 2 * padded(min(rowSize, m), mr) * padded(n, nr) * k + c * k * Double(min(rowSize, m) + n)
        let wholeCost = 2 * padded(m, mr) * padded(n, nr) * k + c * k * Double(m + n)
        if min(byColumnsCost, byRowsCost) >= wholeCost { return whole }
        return byColumnsCost <= byRowsCost
            ? Split(units: units, parts: parts, byColumns: true, partSize: columnSize)
            : Split(units: units, parts: parts, byColumns: false, partSize: rowSize)
    }

    /// `y = epilogue(conv(x, w) + bias)`: every work item's GEMM (`DirectGEMMForwardCall.run`,
    /// the bias and the epilogue applied to each output tile right after its last depth block),
    /// then, with images as columns, the staged result copied into NCHW (`unstage`).
    func forward(input: Tensor, weight: Tensor, bias: Tensor?, epilogue activation: ConvolutionEpilogue = .none,
                 geometry g: Conv2DGeometry) -> Tensor {
        let split = split(g)
        // The GEMMs write `staging` (every element): the output itself, or with images as columns
        // [K × N·P·Q]. (Not a copy of `output`: that would share its storage and copy it on the first write.)
        let batched = imagesAsColumns(g)
        var staging = Tensor(uninitialized: batched ? [g.outputChannels * columnsPerGEMM(g)] : g.outputShape)
        // The weights already in the GEMM's A layout (kept from earlier calls, or packed once for
        // this one), or nil: then each GEMM packs its blocks into its L2-resident buffer.
        let packed = packedWeights(weight, geometry: g)
        let biasValues = bias.map { bias in bias.withUnsafeBufferPointer { Array($0) } }
        input.withUnsafeBufferPointer { x in
            (packed ?? weight).withUnsafeBufferPointer { wt in
                staging.withUnsafeMutableBufferPointer { y in
                    let call = DirectGEMMForwardCall(
                        geometry: g, split: split, kernel: kernel, input: x.baseAddress!, weights: wt.baseAddress!,
                        weightsArePacked: packed != nil, output: y.baseAddress!, bias: biasValues, activation: activation,
                        m: g.outputChannelsPerGroup, n: columnsPerGEMM(g), k: g.columnRows,
                        pointwise: !kernel.isAVX512 && g.isPointwise)
                    Parallel.forEach(split.items, threads: threads) { _, item in call.run(item: item) }
                }
            }
        }
        return batched ? unstage(staging, geometry: g) : staging
    }

    /// `staging[k, image·P·Q + j]` (images as columns) → `output[image, k, j]`, parallel over output channels.
    private func unstage(_ staging: Tensor, geometry g: Conv2DGeometry) -> Tensor {
        var output = Tensor(uninitialized: g.outputShape)  // every element is written below
        let positions = g.columnCount
        let n = columnsPerGEMM(g)
        staging.withUnsafeBufferPointer { staged in
            output.withUnsafeMutableBufferPointer { y in
                let (staged, y) = (SendablePointer(staged.baseAddress!), SendablePointer(y.baseAddress!))
                Parallel.forEach(g.outputChannels, threads: threads) { _, channel in
                    for image in 0..<g.batch {
                        (y.pointer + (image * g.outputChannels + channel) * positions)
                            .update(from: staged.pointer + channel * n + image * positions, count: positions)
                    }
                }
            }
        }
        return output
    }
}

extension DirectGEMMConvolution {
    /// The weights packed for this call: kept from an earlier call with the same weight contents
    /// (`weightCache`), packed now and kept (the second time these contents are packed), packed
    /// now for this call only (`packsWeightsOnce`), or nil (each GEMM packs its blocks itself).
    func packedWeights(_ weight: Tensor, geometry g: Conv2DGeometry) -> Tensor? {
        if let cache = weightCache {
            let key = PackedWeightCache.Key(contents: weight.contentStamp, kernel: kernel.name,
                                            rows: g.outputChannelsPerGroup, depth: g.columnRows, groups: g.groups)
            if let kept = cache.lookup(key) { return kept }
            if cache.shouldStore(key, bytes: packedWeightBytes(g)) {
                let packed = packWeights(weight, geometry: g)
                cache.store(packed, for: key)
                return packed
            }
        }
        return packsWeightsOnce(g) ? packWeights(weight, geometry: g) : nil
    }

    /// Bytes of the weights packed in the GEMM's A layout: groups · (m rounded up to MR) · C·R·S Floats.
    func packedWeightBytes(_ g: Conv2DGeometry) -> Int {
        g.groups * PackedGEMM.roundUp(g.outputChannelsPerGroup, to: kernel.mr) * g.columnRows * MemoryLayout<Float>.stride
    }

    /// Whether the images of a batch become the columns of one GEMM per group (n = N·P·Q) instead
    /// of one GEMM each: for small outputs (P·Q < 1024), where each image's last NR panel is
    /// mostly empty (13×13 = 169 columns fill 6 panels of 32 to 88%, 7×7 = 49 fill 2 to 77%;
    /// 8 images' 1352 and 392 fill 98% and 94%) — AVX-512 packer only (it follows the columns
    /// into the next image), with the staging output within `workspaceLimitBytes`. Every output
    /// element is reduced by the same micro-kernel calls either way, so the results are the same.
    func imagesAsColumns(_ g: Conv2DGeometry) -> Bool {
        kernel.isAVX512 && g.batch > 1 && g.columnCount < 1024
            && g.batch * g.inputChannels * g.inputHeight * g.inputWidth <= Int(Int32.max)
            && stagingBytes(g) <= workspaceLimitBytes
    }

    /// Columns of each GEMM: P·Q, or N·P·Q with images as columns.
    func columnsPerGEMM(_ g: Conv2DGeometry) -> Int { g.columnCount * (imagesAsColumns(g) ? g.batch : 1) }

    private func stagingBytes(_ g: Conv2DGeometry) -> Int { g.outputShape.count * MemoryLayout<Float>.stride }

    /// Whether a call packs the weights once (several GEMMs per group — one per image — or GEMMs
    /// wider than `nc`), with everything it allocates within `workspaceLimitBytes`.
    func packsWeightsOnce(_ g: Conv2DGeometry) -> Bool {
        let batched = imagesAsColumns(g)
        let repacked = batched ? columnsPerGEMM(g) > kernel.nc : (g.batch > 1 || g.columnCount > kernel.nc)
        return repacked && packedWeightBytes(g) + (batched ? stagingBytes(g) : 0) <= workspaceLimitBytes
    }

    /// The workspace one forward call allocates: the staging output with images as columns, and
    /// the packed weights when `packsWeightsOnce`.
    func workspaceBytes(_ g: Conv2DGeometry) -> Int {
        (imagesAsColumns(g) ? stagingBytes(g) : 0) + (packsWeightsOnce(g) ? packedWeightBytes(g) : 0)
    }

    /// The weights of every group packed once for the whole call, in the GEMM's A layout: per group,
    /// per depth block of `kc` (from depth d, length L = min(kc, k − d)), `⌈m/mr⌉` panels of
    /// `mr` rows × L steps, at `group·m̄·k + d·m̄ + row·L` (m̄ = m rounded up to `mr`). Every image
    /// and every block of the split then reads them instead of packing them again (at batch 8
    /// that was 8 packings; for a GEMM wider than `nc` columns, one per column block).
    func packWeights(_ weight: Tensor, geometry g: Conv2DGeometry) -> Tensor {
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
                    PackedGEMM.packA(transposed: false, a: wt.pointer + group * m * k, lda: k, rows: 0, count: m,
                                     depth: depth, length: length, alpha: 1, mr: kernel.mr,
                                     transposingPacker: kernel.isAVX512,
                                     into: out.pointer + group * paddedRows * k + depth * paddedRows)
                }
            }
        }
        return packed
    }
}

private func greatestCommonDivisor(_ a: Int, _ b: Int) -> Int {
    var (a, b) = (a, b)
    while b != 0 { (a, b) = (b, a % b) }
    return max(a, 1)
}
