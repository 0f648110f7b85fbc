import CFoveaKernels
import FoveaCore

/// One forward call of `DirectGEMMConvolution`: its operands, split and sizes, and the steps of
/// one work item — locate its GEMM block (`block`), then one `PackedGEMM.compute` whose A panels
/// are the weights (packed per block by `packWeights`, or read from the weights packed once,
/// `packedWeightPanel`), whose B panels are packed from the image (`packImage`, with the
/// batch-norm prologue of a pre-activation layer applied to them), and whose
/// epilogue adds the bias and applies the activation to each finished output tile (`finish`).
struct DirectGEMMForwardCall: @unchecked Sendable {
    let geometry: Conv2DGeometry
    let split: DirectGEMMConvolution.Split
    let kernel: GEMMKernel
    /// `[N, C, H, W]` (with `parts`, the first part).
    let input: UnsafePointer<Float>
    /// The input as parts along channels (a pointwise layer, a native kernel's C packer), or nil.
    let parts: [InputPart]?
    /// The raw weights `[K, C/g·R·S]`, or, when `weightsArePacked`, the weights packed once in the
    /// GEMM's A layout (`DirectGEMMConvolution.packWeights`).
    let weights: UnsafePointer<Float>
    let weightsArePacked: Bool
    /// The GEMMs' C: the output `[N, K, P·Q]`, or with images as columns the staging `[K, N·P·Q]`.
    let output: UnsafeMutablePointer<Float>
    let bias: [Float]?
    let activation: ConvolutionEpilogue
    /// Added to the output after the bias, before the activation: `[N, K, P·Q]` like `output`
    /// (never with images as columns), or nil.
    let residual: UnsafePointer<Float>?
    /// Applied to each packed B value of a pointwise convolution (its row is the input channel),
    /// or nil.
    let prologue: BatchNormCoefficients?
    /// Whether `weights` (raw) hold Wᵀ: `[k, m]` rows instead of `[m, k]` (pointwise backward-data).
    let weightTransposed: Bool
    /// The GEMM sizes of one (image, group) unit: m = K/g, n = columns per GEMM, k = C/g·R·S.
    let m: Int, n: Int, k: Int
    /// Whether B is the image's rows as they are (1×1, stride 1, no padding; the portable kernel).
    let pointwise: Bool

    /// The GEMM block of one work item: output `rows` of the group's m and `columns` of n, for `image` and `group`.
    struct Block {
        var image: Int, group: Int
        var rows: Range<Int>, columns: Range<Int>
        /// The first output channel (of all K) the block writes.
        var firstOutput: Int
    }

    /// Work item `item`: unit `item / parts`, part `item % parts` of its rows or columns.
    func block(_ item: Int) -> Block {
        let (unit, part) = (item / split.parts, item % split.parts)
        let (image, group) = (unit / geometry.groups, unit % geometry.groups)
        let (rows, columns): (Range<Int>, Range<Int>) = split.byColumns
            ? (0..<m, min(part * split.partSize, n)..<min((part + 1) * split.partSize, n))
            : (min(part * split.partSize, m)..<min((part + 1) * split.partSize, m), 0..<n)
        return Block(image: image, group: group, rows: rows, columns: columns, firstOutput: group * m + rows.lowerBound)
    }

    /// The GEMM of work item `item`: `C[block] = W[block rows] · col[:, block columns]`, with the epilogue.
    func run(item: Int) {
        let block = block(item)
        guard !block.rows.isEmpty, !block.columns.isEmpty else { return }
        let g = geometry
        let source = input + block.image * g.inputChannels * g.inputHeight * g.inputWidth
            + block.group * g.inputChannelsPerGroup * g.inputHeight * g.inputWidth
        let out = output + (block.image * g.outputChannels + block.firstOutput) * n + block.columns.lowerBound
        let packing = ConvolutionPacking(geometry: g, image: source, nr: kernel.nr, vectorPanels: kernel.isNative)
        let finishes = bias != nil || activation != .none || residual != nil
        PackedGEMM.compute(
            m: block.rows.count, n: block.columns.count, k: k, kernel: kernel, c: out, ldc: n, overwrite: true,
            packA: { first, count, depth, length, packed in packWeights(block, first, count, depth, length, into: packed) },
            packB: { depth, length, first, count, packed in
                packImage(source, packing, block, depth, length, first, count, into: packed)
            },
            epilogue: !finishes ? nil : { row, _, tileRows, tileColumns, tile in finish(block, row, tileRows, tileColumns, tile) },
            packedA: !weightsArePacked ? nil : { first, depth in packedWeightPanel(block, first, depth) })
    }

    /// A panels from the raw weights: rows `first..<first + count` of the block, depth `depth..<depth + length`.
    private func packWeights(_ block: Block, _ first: Int, _ count: Int, _ depth: Int, _ length: Int,
                             into packed: UnsafeMutablePointer<Float>) {
        PackedGEMM.packA(transposed: weightTransposed, a: weightTransposed ? weights + block.firstOutput : weights + block.firstOutput * k,
                         lda: weightTransposed ? geometry.outputChannels : k, rows: first, count: count,
                         depth: depth, length: length, alpha: 1, mr: kernel.mr,
                         transposingPacker: kernel.transposingPacker, into: packed)
    }

    /// The A panel of the weights packed once: group, depth block from `depth` (length min(kc, k − depth)),
    /// block row `first`, at `group·m̄·k + depth·m̄ + row·length` (m̄ = m rounded up to MR).
    private func packedWeightPanel(_ block: Block, _ first: Int, _ depth: Int) -> UnsafePointer<Float> {
        let paddedRows = PackedGEMM.roundUp(m, to: kernel.mr)
        let length = min(kernel.kc, k - depth)
        return weights + block.group * paddedRows * k + depth * paddedRows + (block.rows.lowerBound + first) * length
    }

    /// One part of a pointwise layer's input along channels: channels `channels` of the whole
    /// input are this part's `[N, channels.count, H, W]` at `image`.
    struct InputPart {
        let image: UnsafePointer<Float>
        let channels: Range<Int>
        /// The part's window for the C packer: its image stride is `channels.count·H·W`.
        let window: fovea_convolution_window

        /// The parts of `tensors` (`[N, Cᵢ, H, W]`) at `pointers`, in channel order.
        static func parts(of tensors: [Tensor], at pointers: [UnsafePointer<Float>], geometry g: Conv2DGeometry) -> [InputPart] {
            var first = 0
            return zip(tensors, pointers).map { tensor, pointer in
                var window = fovea_convolution_window(g)
                window.imageSize = tensor.shape[1] * g.inputHeight * g.inputWidth
                defer { first += tensor.shape[1] }
                return InputPart(image: pointer, channels: first..<(first + tensor.shape[1]), window: window)
            }
        }
    }

    /// B panels of col: the image's rows as they are (`pointwise`), packed from the parts (`parts`),
    /// else packed from the image (`ConvolutionPacking`); with a `prologue`, normalised by the C
    /// packer as it packs where it can (AVX2), else afterwards (`normalizePanels`).
    private func packImage(_ source: UnsafePointer<Float>, _ packing: ConvolutionPacking, _ block: Block, _ depth: Int, _ length: Int,
                           _ first: Int, _ count: Int, into packed: UnsafeMutablePointer<Float>) {
        // A pointwise layer's step t is input channel `firstChannel + t` (of all C).
        let firstChannel = block.group * geometry.inputChannelsPerGroup + depth
        guard let prologue, let packer = packing.vectorPacker, packer.normalizes else {
            packImage(source, packing, block, depth, length, first, count, normalization: nil, into: packed)
            if let prologue { normalizePanels(packed, prologue, firstChannel: firstChannel, length: length, count: count) }
            return
        }
        // The packer's channel 0 is the group's first (`source`), or a part's first.
        withExtendedLifetime(prologue) {
            packImage(source, packing, block, depth, length, first, count,
                      normalization: prologue.normalization.advanced(by: firstChannel - depth), into: packed)
        }
    }

    /// The panels as above, each step normalised by the C packer where a `normalization` is given
    /// (its channel 0 being the group's first; a part's steps shift it to the part's first).
    private func packImage(_ source: UnsafePointer<Float>, _ packing: ConvolutionPacking, _ block: Block, _ depth: Int, _ length: Int,
                           _ first: Int, _ count: Int, normalization: fovea_channel_normalization?,
                           into packed: UnsafeMutablePointer<Float>) {
        if let parts {
            // Panel by panel (each `length` steps of NR contiguous); within a panel, the steps of
            // each part's channels, packed from that part's image by the same C packer.
            let (width, packer) = (kernel.nr, packing.vectorPacker!)  // `forward(parts:)` checked it
            for panel in stride(from: 0, to: count, by: width) {
                for part in parts where part.channels.lowerBound < depth + length && depth < part.channels.upperBound {
                    let steps = max(depth, part.channels.lowerBound)..<min(depth + length, part.channels.upperBound)
                    let (image, column) = (part.image + block.image * part.window.imageSize, block.columns.lowerBound + first + panel)
                    let (live, out) = (Int32(min(width, count - panel)), packed + panel * length + (steps.lowerBound - depth) * width)
                    let firstTap = steps.lowerBound - part.channels.lowerBound
                    withUnsafePointer(to: part.window) { window in
                        packer.packPanel(window, image, firstColumn: column, live: live, firstTap: firstTap, depth: steps.count,
                                         normalization: normalization?.advanced(by: part.channels.lowerBound), into: out)
                    }
                }
            }
        } else if pointwise {
            PackedGEMM.packB(transposed: false, b: source, ldb: n, rows: depth, depth: length,
                             columns: block.columns.lowerBound + first, count: count, nr: kernel.nr,
                             transposingPacker: kernel.transposingPacker, into: packed)
        } else {
            packing.pack(rows: depth, depth: length, columns: block.columns.lowerBound + first, count: count,
                         normalization: normalization, into: packed)
        }
    }

    /// The prologue applied to packed panels: `nr` columns × `length` steps each, step t being
    /// input channel `firstChannel + t`. Padding columns are normalised too; their outputs are never stored.
    private func normalizePanels(_ packed: UnsafeMutablePointer<Float>, _ prologue: BatchNormCoefficients, firstChannel: Int,
                                 length: Int, count: Int) {
        for panel in stride(from: 0, to: count, by: kernel.nr) {
            let steps = packed + panel * length
            for t in 0..<length {
                prologue.apply(steps + t * kernel.nr, steps + t * kernel.nr, count: kernel.nr, channel: firstChannel + t)
            }
        }
    }

    /// `tile[i, 0..<tileColumns] = activation(tile + bias[block's row + i] (+ residual))` for the
    /// tile's rows; the residual element at the same offset from `residual` as the tile's from `output`.
    private func finish(_ block: Block, _ row: Int, _ tileRows: Int, _ tileColumns: Int, _ tile: UnsafeMutablePointer<Float>) {
        if let residual {
            // The next tile's residual (the rows below, else the next panel's first rows): its
            // short rows lie a plane apart, too scattered for the hardware prefetchers.
            let here = residual + (tile - output)
            let below = row + tileRows
            if below < block.rows.count {
                fovea_prefetch_rows(here + tileRows * n, n, Int32(min(tileRows, block.rows.count - below)), Int32(tileColumns))
            } else {
                fovea_prefetch_rows(here - row * n + tileColumns, n, Int32(min(kernel.mr, block.rows.count)), Int32(kernel.nr))
            }
        }
        for i in 0..<tileRows {
            let target = tile + i * n
            activation.apply(row: target, count: tileColumns, bias: bias?[block.firstOutput + row + i] ?? 0,
                             adding: residual.map { $0 + (target - output) })
        }
    }
}
