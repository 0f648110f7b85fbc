import CFoveaKernels
import FoveaCore
import FoveaKernels

/// The forward of a 1×1 layer without padding and with one group — a pointwise layer, or a
/// strided one such as ResNet's downsampling shortcuts — with the output channels in the vector lanes:
///
///     y[n, k, p] = epilogue(Σ_c w[k, c] · x[n, c, p] + b[k] (+ residual[n, k, p]))
///
/// (with a stride, x is first subsampled to the positions the layer reads, `subsampled`: one
/// pass over C·P·Q values, against the C·K·P·Q multiply-adds that follow)
/// computed in tiles of 32 output channels × up to 14 consecutive positions
/// (`fovea_pointwise_tile_32x14_avx512`): each step c loads 32 weights of a packed panel and
/// broadcasts the tile's x[n, c, p] straight from the NCHW image. Against the direct GEMM
/// (`DirectGEMMConvolution`, positions in the lanes) nothing is packed on the image side, and
/// no positions are computed for nothing: 7×7 = 49 positions are 3 tiles of 14 and one of 7, where
/// 32-position panels compute 64, and 14×14 = 196 fill 14 tiles exactly, where the panels compute
/// 224 (every ResNet and DenseNet plane larger than 7×7, 7²·4ᵏ positions with k ≥ 1, is whole
/// tiles of 14). The price is two 16×16 register transposes per tile before the store, which the C steps
/// of one tile pay for once C is a few hundred (Docs/Performance.md, "Pointwise layers with the
/// channels in the lanes").
///
/// Every output is reduced as the direct GEMM reduces it — an FMA chain from zero over each block
/// of `GEMMKernel.kc` input channels, the blocks' sums added in order — and the bias, residual and
/// ReLU follow in `ConvolutionEpilogue.apply`'s order: the results are the direct GEMM's bit for
/// bit (so a call that falls back to it for a prologue agrees), whatever the split.
///
/// **Weights**: w′ = w·outputScale packed once per call as ⌈K/32⌉ panels of C steps × 32 channels
/// (zero past K), or kept across calls (`PackedWeightCache`).
///
/// **Split**: (image, part of the positions, part of the weight panels) items. Where the images
/// do not divide evenly among the workers, each image is cut into threads / gcd(N, threads)
/// pieces: by output channels (whole panels) where the weights outweigh one image's columns
/// (K > P·Q: ResNet-50's 7×7 and 14×14 layers at batch 1, whose weights come from DRAM in a
/// network and would otherwise be streamed by every worker), else by positions. Positions are
/// also cut so that one part's image columns (C · part floats) stay within `partBytes` of L2
/// while every weight panel of the item passes over them.
struct PointwiseConvolution: Sendable {
    let threads: Int
    let kernel: GEMMKernel
    /// The most bytes a call allocates (the packed weights), the device's workspace limit.
    var workspaceLimitBytes = Im2colConvolution.defaultWorkspaceLimitBytes
    /// Where packed weights are kept across calls while the weight tensor is unchanged (nil: never).
    var weightCache: PackedWeightCache? = .shared
    /// The most bytes of image columns one part reads (C · part positions · 4): a share of a
    /// 1 MiB L2 that leaves room for a weight panel of up to 2048 channels (256 KiB).
    var partBytes = 256 << 10

    /// Output channels per tile and weight panel (two AVX-512 vectors).
    static let channelsPerPanel = 32
    /// The most positions per tile: 28 accumulators (2 vectors × 14 positions), which with the two
    /// weight vectors and the broadcast take 31 of AVX-512's 32 registers. 14, not 12 or 16: the
    /// planes of ImageNet networks (7·2ᵏ wide) and cnn-bn's 14-wide rows split into whole tiles.
    static let positionsPerTile = 14
    /// The name the packed panels are kept under in `PackedWeightCache` (shared with
    /// `ChannelLanesConvolution`, which packs the same layout).
    static let packingName = "channel lanes 32 avx512"

    /// What a forward call of `g` runs with, from `blocking(for:)` (the planner keeps it in the plan).
    struct Blocking: Equatable, Sendable {
        /// How many parts each image's P·Q positions are cut into, of `partSize` consecutive
        /// positions each (the last may be shorter).
        var partsPerImage: Int
        var partSize: Int
        /// How many parts the ⌈K/32⌉ weight panels are cut into, of `panelsPerPart` consecutive
        /// panels each (the last may have fewer).
        var channelParts: Int = 1
        var panelsPerPart: Int
        /// The work items: N · partsPerImage · channelParts.
        func items(batch: Int) -> Int { batch * partsPerImage * channelParts }
        /// ⌈K/32⌉·32·C·4: the weights packed in panels, allocated by a call that does not find them kept.
        var packedWeightBytes: Int
        /// N·C·P·Q·4 for a strided layer (`subsampled`), else 0.
        var subsampledBytes: Int = 0
        var workspaceBytes: Int { packedWeightBytes + subsampledBytes }
    }

    /// Whether this driver runs `g`: a 1×1 kernel without padding (any stride) and one group, the
    /// AVX-512 micro-kernel (the tile kernel is AVX-512 only), and packed weights plus, with a
    /// stride, the subsampled input within the workspace limit.
    func handles(_ g: Conv2DGeometry) -> Bool {
        kernel.isAVX512 && g.kernelHeight == 1 && g.kernelWidth == 1 && g.options.padding == 0 && g.groups == 1
            && packedWeightBytes(g) + subsampledBytes(g) <= workspaceLimitBytes
    }

    /// N·C·P·Q·4 bytes for a strided layer (its subsampled input), else 0.
    func subsampledBytes(_ g: Conv2DGeometry) -> Int {
        g.options.stride == 1 ? 0 : g.batch * g.inputChannels * g.outputHeight * g.outputWidth * MemoryLayout<Float>.stride
    }

    /// The blocking of a forward call of `g` at `threads`.
    func blocking(for g: Conv2DGeometry) -> Blocking {
        let positions = max(g.outputHeight * g.outputWidth, 1)
        let panels = (g.outputChannels + Self.channelsPerPanel - 1) / Self.channelsPerPanel
        let forThreads = threads / greatestCommonDivisor(max(g.batch, 1), threads)
        let forCache = max(1, (g.inputChannels * positions * MemoryLayout<Float>.stride + partBytes - 1) / partBytes)
        let byChannels = forThreads > 1 && g.outputChannels > positions && panels >= forThreads
        let channelParts = byChannels ? forThreads : 1
        let panelsPerPart = (panels + channelParts - 1) / channelParts
        let positionPieces = byChannels ? 1 : forThreads
        let parts = min(positionPieces * ((forCache + positionPieces - 1) / positionPieces), positions)
        let partSize = (positions + parts - 1) / parts
        return Blocking(partsPerImage: (positions + partSize - 1) / partSize, partSize: partSize,
                        channelParts: (panels + panelsPerPart - 1) / panelsPerPart, panelsPerPart: panelsPerPart,
                        packedWeightBytes: packedWeightBytes(g), subsampledBytes: subsampledBytes(g))
    }

    /// ⌈K/32⌉·32·C·R·S·4 bytes (R = S = 1 here; `ChannelLanesConvolution` packs any kernel the same way).
    func packedWeightBytes(_ g: Conv2DGeometry) -> Int {
        PackedGEMM.roundUp(g.outputChannels, to: Self.channelsPerPanel) * g.columnRows * MemoryLayout<Float>.stride
    }

    /// `y = epilogue(conv(x, w′) + bias (+ residual))` with w′ = w·outputScale (w when nil), for
    /// `g` (`handles(g)`) and `blocking` (`blocking(for: g)`); `residual` has the output's shape.
    func forward(input: Tensor, weight: Tensor, outputScale: Tensor? = nil, bias: Tensor?, epilogue activation: ConvolutionEpilogue = .none,
                 residual: Tensor? = nil, geometry g: Conv2DGeometry, blocking: Blocking) -> Tensor {
        precondition(handles(g), "PointwiseConvolution: \(g) is not a 1×1 unpadded layer this device's \(kernel.name) kernel runs")
        let input = g.options.stride == 1 ? input : subsampled(input, geometry: g)
        return forward(inputs: [input], weight: weight, outputScale: outputScale, bias: bias, epilogue: activation, residual: residual,
                       prologue: nil, geometry: g, blocking: blocking)
    }

    /// The pre-activation forward `y = epilogue(conv(prologue(x), w′) + bias)` (w′ = w·outputScale,
    /// w when nil) of a stride-1 layer (`runsPrologue(g)`) whose input x is the channel
    /// concatenation of `parts` (`[N, Cᵢ, H, W]` each, in order; one part is the whole input):
    /// each work item first normalises its positions' columns of every channel into a per-thread
    /// buffer (`fovea_normalize_channel_avx512`, the values of `batchNormInference`; at most
    /// C · `partSize` floats, which `blocking(for:)` keeps within about `partBytes`), then runs its
    /// tiles over that buffer. The same bits as `batchNormInference` followed by
    /// `forward(input:…)`, and as the direct GEMM's prologue.
    func forward(parts: [Tensor], weight: Tensor, outputScale: Tensor? = nil, bias: Tensor?, epilogue activation: ConvolutionEpilogue = .none,
                 prologue: BatchNormCoefficients, geometry g: Conv2DGeometry, blocking: Blocking) -> Tensor {
        precondition(runsPrologue(g), "PointwiseConvolution: a prologue needs a stride-1 layer this device's \(kernel.name) kernel runs; got \(g)")
        precondition(parts.allSatisfy { $0.shape.rank == 4 && $0.shape[0] == g.batch && $0.shape[2] == g.inputHeight && $0.shape[3] == g.inputWidth }
                     && parts.reduce(0) { $0 + $1.shape[1] } == g.inputChannels && prologue.channels == g.inputChannels,
                     "PointwiseConvolution: parts \(parts.map(\.shape)) and a prologue of \(prologue.channels) channels do not make the input \(g.inputShape)")
        return forward(inputs: parts, weight: weight, outputScale: outputScale, bias: bias, epilogue: activation, residual: nil,
                       prologue: prologue, geometry: g, blocking: blocking)
    }

    /// Whether `forward(parts:…prologue:…)` runs `g`: a layer this driver handles, at stride 1.
    func runsPrologue(_ g: Conv2DGeometry) -> Bool {
        handles(g) && g.options.stride == 1
    }

    private func forward(inputs: [Tensor], weight: Tensor, outputScale: Tensor?, bias: Tensor?, epilogue activation: ConvolutionEpilogue,
                         residual: Tensor?, prologue: BatchNormCoefficients?, geometry g: Conv2DGeometry, blocking: Blocking) -> Tensor {
        var output = Tensor(uninitialized: g.outputShape)  // every element is written below
        let packed = cachedPackedWeights(weight, scale: outputScale, geometry: g)
            ?? packWeights(weight.scalingOutputChannels(by: outputScale), geometry: g)
        Tensor.withOptionalPointer(Self.panelBias(bias, outputs: g.outputChannels)) { biasPointer in
            Tensor.withOptionalPointer(residual) { residualPointer in
                Tensor.withPointers(to: inputs) { x in
                    packed.withUnsafeBufferPointer { w in
                        output.withUnsafeMutableBufferPointer { y in
                            withExtendedLifetime(prologue) {
                                let call = PointwiseForwardCall(
                                    geometry: g, blocking: blocking, depthBlock: kernel.kc, input: x[0],
                                    parts: prologue == nil ? nil : PointwiseForwardCall.Part.parts(of: inputs, at: x),
                                    prologue: prologue?.normalization, weights: w.baseAddress!, output: y.baseAddress!, bias: biasPointer,
                                    residual: residualPointer, relu: activation == .relu)
                                Parallel.forEach(blocking.items(batch: g.batch), threads: threads) { _, item in call.run(item: item) }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// The bias of every panel's 32 channels, `[⌈K/32⌉·32]`, zero past K (those channels are never
    /// stored), or nil without a bias: what the tile kernels read at each panel's first channel.
    static func panelBias(_ bias: Tensor?, outputs: Int) -> Tensor? {
        guard let bias else { return nil }
        let padded = PackedGEMM.roundUp(outputs, to: channelsPerPanel)
        return Tensor(shape: [padded], scalars: bias.scalars + [Float](repeating: 0, count: padded - outputs))
    }

    /// `[N, C, P, Q]` with x′[n, c, p, q] = x[n, c, p·sh, q·sw]: the columns a strided 1×1 layer reads.
    func subsampled(_ input: Tensor, geometry g: Conv2DGeometry) -> Tensor {
        let (p, q, sh, sw) = (g.outputHeight, g.outputWidth, g.options.stride.height, g.options.stride.width)
        let (height, width) = (g.inputHeight, g.inputWidth)
        var columns = Tensor(uninitialized: [g.batch, g.inputChannels, p, q])  // every element is written below
        input.withUnsafeBufferPointer { x in
            columns.withUnsafeMutableBufferPointer { out in
                let (x, out) = (SendablePointer(x.baseAddress!), SendablePointer(out.baseAddress!))
                Parallel.forEach(g.batch * g.inputChannels, threads: threads) { _, plane in
                    let source = x.pointer + plane * height * width
                    let target = out.pointer + plane * p * q
                    for row in 0..<p {
                        for column in 0..<q { target[row * q + column] = source[row * sh * width + column * sw] }
                    }
                }
            }
        }
        return columns
    }

    /// The weights packed as ⌈K/32⌉ panels of C·R·S steps × 32 output channels (zero past K):
    /// panel j, step t (tap (c, r, s) at t = (c·R + r)·S + s) holds w[32j ..< 32j + 32, t].
    func packWeights(_ weight: Tensor, geometry g: Conv2DGeometry) -> Tensor {
        let (channels, depth, width) = (g.outputChannels, g.columnRows, Self.channelsPerPanel)
        let panels = (channels + width - 1) / width
        var packed = Tensor(uninitialized: [max(panels * width * depth, 1)])  // every element is written below
        let transposingPacker = kernel.transposingPacker
        weight.withUnsafeBufferPointer { wt in
            packed.withUnsafeMutableBufferPointer { out in
                let (wt, out) = (SendablePointer(wt.baseAddress!), SendablePointer(out.baseAddress!))
                Parallel.forEach(panels, threads: threads) { _, panel in
                    // op(B)[c, j] = w[(32·panel + j)·C + c]: Wᵀ's columns of this panel.
                    PackedGEMM.packB(transposed: true, b: wt.pointer + panel * width * depth, ldb: depth, rows: 0, depth: depth,
                                     columns: 0, count: min(width, channels - panel * width), nr: width,
                                     transposingPacker: transposingPacker, into: out.pointer + panel * width * depth)
                }
            }
        }
        return packed
    }

    /// The weights' panels kept from earlier calls, or packed and kept when `PackedWeightCache`
    /// says so (their second packing), else nil.
    func cachedPackedWeights(_ weight: Tensor, scale: Tensor?, geometry g: Conv2DGeometry) -> Tensor? {
        guard let cache = weightCache else { return nil }
        let key = PackedWeightCache.Key(contents: weight.contentStamp, scale: scale?.contentStamp, kernel: Self.packingName,
                                        rows: g.outputChannels, depth: g.columnRows, groups: 1)
        if let kept = cache.lookup(key) { return kept }
        guard cache.shouldStore(key, bytes: packedWeightBytes(g)) else { return nil }
        let packed = packWeights(weight.scalingOutputChannels(by: scale), geometry: g)
        cache.store(packed, for: key)
        return packed
    }
}

/// One forward call of `PointwiseConvolution`: its operands, and the tiles of one work item.
private struct PointwiseForwardCall: @unchecked Sendable {
    let geometry: Conv2DGeometry
    let blocking: PointwiseConvolution.Blocking
    /// The GEMM's kc: the steps each partial sum covers.
    let depthBlock: Int
    /// `[N, C, P·Q]` (without a prologue).
    let input: UnsafePointer<Float>
    /// With a prologue, the input's parts along channels (`[N, Cᵢ, P·Q]` each), else nil.
    let parts: [Part]?
    /// The batch norm each item applies to its columns before the tiles read them, or nil.
    let prologue: fovea_channel_normalization?
    /// The packed panels (`PointwiseConvolution.packWeights`).
    let weights: UnsafePointer<Float>
    /// `[N, K, P·Q]`.
    let output: UnsafeMutablePointer<Float>
    /// ⌈K/32⌉·32 values (`PointwiseConvolution.panelBias`), or nil.
    let bias: UnsafePointer<Float>?
    /// `[N, K, P·Q]` like `output`, or nil.
    let residual: UnsafePointer<Float>?
    let relu: Bool

    /// One part of the input along channels.
    struct Part {
        let image: UnsafePointer<Float>
        let channels: Range<Int>

        /// The parts of `tensors` (`[N, Cᵢ, H, W]`) at `pointers`, in channel order.
        static func parts(of tensors: [Tensor], at pointers: [UnsafePointer<Float>]) -> [Part] {
            var first = 0
            return zip(tensors, pointers).map { tensor, pointer in
                defer { first += tensor.shape[1] }
                return Part(image: pointer, channels: first..<(first + tensor.shape[1]))
            }
        }
    }

    /// Item `item` = (image, position part, channel part): for each of its weight panels, the
    /// position part's tiles of up to 14 positions in order.
    func run(item: Int) {
        let g = geometry
        let (unit, channelPart) = (item / blocking.channelParts, item % blocking.channelParts)
        let (image, part) = (unit / blocking.partsPerImage, unit % blocking.partsPerImage)
        let positions = g.outputHeight * g.outputWidth
        let first = part * blocking.partSize
        let end = min(first + blocking.partSize, positions)
        guard first < end else { return }
        let (width, tile) = (PointwiseConvolution.channelsPerPanel, PointwiseConvolution.positionsPerTile)
        let (depth, channels) = (g.inputChannels, g.outputChannels)
        // The columns the tiles read, position `first` at `x`: the image's own (ldx = P·Q), or
        // this item's normalised copy (ldx = its positions).
        let (x, ldx): (UnsafePointer<Float>, Int)
        if let prologue, let parts {
            guard let columns = fovea_thread_scratch(Self.columnsScratchSlot, depth * (end - first)) else {
                fatalError("PointwiseConvolution: cannot allocate \(depth * (end - first) * 4) bytes of normalised columns")
            }
            withUnsafePointer(to: prologue) { normalization in
                for part in parts {
                    let source = part.image + image * part.channels.count * positions + first
                    for c in part.channels {
                        fovea_normalize_channel_avx512(source + (c - part.channels.lowerBound) * positions, end - first, normalization, c,
                                                       columns + c * (end - first))
                    }
                }
            }
            (x, ldx) = (UnsafePointer(columns), end - first)
        } else {
            (x, ldx) = (input + image * depth * positions + first, positions)
        }
        let y = output + image * channels * positions
        let r = residual.map { $0 + image * channels * positions }
        let panels = (channels + width - 1) / width
        for panel in min(channelPart * blocking.panelsPerPart, panels)..<min((channelPart + 1) * blocking.panelsPerPart, panels) {
            let k0 = panel * width
            let w = weights + panel * width * depth
            for p in stride(from: first, to: end, by: tile) {
                fovea_pointwise_tile_32x14_avx512(
                    depth, depthBlock, x + (p - first), ldx, w, y + k0 * positions + p, positions, Int32(min(tile, end - p)),
                    Int32(min(width, channels - k0)), bias.map { $0 + k0 }, r.map { $0 + k0 * positions + p }, relu ? 1 : 0)
            }
        }
    }

    /// The `fovea_thread_scratch` slot of the normalised columns (0 and 1 are `PackedGEMM`'s, 2
    /// the direct backward-filter's).
    static let columnsScratchSlot: Int32 = 3
}
