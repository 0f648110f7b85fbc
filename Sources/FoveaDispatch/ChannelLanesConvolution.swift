import CFoveaKernels
import FoveaCore
import FoveaKernels

/// A convolution forward with the output channels in the vector lanes, for any kernel, stride,
/// padding and dilation (one group): the pointwise kernel's tiles of 32 output channels × up to
/// 14 positions (`PointwiseConvolution`), whose step t — tap (c, r, s) — broadcasts from the
/// image's zero-padded phase planes at `ShiftedImageConvolution.offsets` (the shifted image:
/// col[t, v] = Z[offsets[t] + v], v = oy·Wz + ox), through
/// `fovea_shifted_channels_tile_32x14_avx512`:
///
///     y[n, k, oy, ox] = epilogue(Σ_t w[k, t] · Z_n[offsets[t] + oy·Wz + ox] + b[k] (+ residual))
///
/// A tile stays within one output row (ox0 ..< ox0 + 14, clipped at Q), so no virtual column is
/// computed and nothing is staged: the shifted-image GEMM pads each row to Wz and the output to
/// panels of 32 positions, which costs most on small, strided outputs — ResNet-50's 7×7/2 stem
/// (112 = 8·14 per row), its 3×3/2 layers and its 7×7 layers (7 positions per row, where
/// 32-position panels compute 64 for 49).
///
/// The weights are packed and kept as the pointwise forward's (`PointwiseConvolution.packWeights`,
/// ⌈K/32⌉ panels of C·R·S steps). Every output is reduced over the taps as the direct GEMM reduces
/// it (FMA chains over blocks of `GEMMKernel.kc` taps, the blocks' sums added in order), so the
/// results are the direct GEMM's bit for bit and do not depend on the split. Where the weights outweigh one image's phase planes
/// (K·C·R·S > C·sh·sw·Hz·Wz: ResNet-50's 256- and 512-channel 3×3 layers), each item is a part of
/// the weight panels over every image, so each panel is read from memory once per call, not once
/// per image; otherwise each item is one image's block of output rows (or, at batch 1 with
/// K > P·Q, part of its panels).
struct ChannelLanesConvolution: Sendable {
    let threads: Int
    let kernel: GEMMKernel
    var workspaceLimitBytes = Im2colConvolution.defaultWorkspaceLimitBytes
    /// Packs (and keeps) the weights.
    let weights: PointwiseConvolution
    /// The phase-plane geometry and the offsets table.
    let shifted: ShiftedImageConvolution

    init(threads: Int, kernel: GEMMKernel, workspaceLimitBytes: Int = Im2colConvolution.defaultWorkspaceLimitBytes) {
        (self.threads, self.kernel, self.workspaceLimitBytes) = (threads, kernel, workspaceLimitBytes)
        weights = PointwiseConvolution(threads: threads, kernel: kernel, workspaceLimitBytes: workspaceLimitBytes)
        shifted = ShiftedImageConvolution(threads: threads, kernel: kernel, workspaceLimitBytes: workspaceLimitBytes)
    }

    /// What a forward call of `g` runs with, from `blocking(for:)` (the planner keeps it in the plan).
    struct Blocking: Equatable, Sendable {
        /// Hz, Wz and C·sh·sw·Hz·Wz: the phase planes (`ShiftedImageConvolution`).
        var planeHeight: Int, planeWidth: Int, phasePlaneFloats: Int
        /// Whether the images are split into phase planes (padding or a stride), else read as they are.
        var splitsIntoPhases: Bool
        /// Whether each item covers every image (for its panels), else one image.
        var allImagesPerItem: Bool
        /// Each image's P output rows in `rowParts` blocks of `rowsPerPart` (the last may be shorter).
        var rowParts: Int, rowsPerPart: Int
        /// The ⌈K/32⌉ weight panels in `channelParts` blocks of `panelsPerPart`.
        var channelParts: Int, panelsPerPart: Int
        /// N · phase planes · 4 (when split) + the offsets table + the packed weights.
        var workspaceBytes: Int
        /// The work items: (allImagesPerItem ? 1 : N) · rowParts · channelParts.
        func items(batch: Int) -> Int { (allImagesPerItem ? 1 : batch) * rowParts * channelParts }
    }

    /// Whether this driver runs `g`: the AVX-512 micro-kernel, one group, 32-bit offsets into the
    /// phase planes, and the call's workspace within the limit.
    func handles(_ g: Conv2DGeometry) -> Bool {
        kernel.isAVX512 && g.groups == 1 && shifted.phasePlaneFloats(g) < Int(Int32.max) && workspaceBytes(g) <= workspaceLimitBytes
    }

    func blocking(for g: Conv2DGeometry) -> Blocking {
        let (rows, positions) = (max(g.outputHeight, 1), max(g.outputHeight * g.outputWidth, 1))
        let panels = (g.outputChannels + PointwiseConvolution.channelsPerPanel - 1) / PointwiseConvolution.channelsPerPanel
        let weightsOutweighImages = g.outputChannels * g.columnRows > shifted.phasePlaneFloats(g) && g.batch > 1
        let forThreads = weightsOutweighImages ? threads : threads / greatestCommonDivisor(max(g.batch, 1), threads)
        let byChannels = weightsOutweighImages || (forThreads > 1 && g.outputChannels > positions && panels >= forThreads)
        let channelParts = byChannels ? min(panels, forThreads) : 1
        let panelsPerPart = (panels + channelParts - 1) / channelParts
        // Rows: the workers the panels leave without a share, else about four items per worker.
        let rowPieces = byChannels ? (forThreads + channelParts - 1) / channelParts
            : forThreads * max(1, (4 * threads + forThreads * max(g.batch, 1) - 1) / (forThreads * max(g.batch, 1)))
        let rowParts = min(rows, rowPieces)
        let rowsPerPart = (rows + rowParts - 1) / rowParts
        return Blocking(planeHeight: shifted.planeHeight(g), planeWidth: shifted.planeWidth(g), phasePlaneFloats: shifted.phasePlaneFloats(g),
                        splitsIntoPhases: splitsIntoPhases(g), allImagesPerItem: weightsOutweighImages,
                        rowParts: (rows + rowsPerPart - 1) / rowsPerPart, rowsPerPart: rowsPerPart,
                        channelParts: (panels + panelsPerPart - 1) / panelsPerPart, panelsPerPart: panelsPerPart,
                        workspaceBytes: workspaceBytes(g))
    }

    private func splitsIntoPhases(_ g: Conv2DGeometry) -> Bool {
        g.options.padding != 0 || g.options.stride != 1
    }

    private func workspaceBytes(_ g: Conv2DGeometry) -> Int {
        let planes = splitsIntoPhases(g) ? g.batch * shifted.phasePlaneFloats(g) * MemoryLayout<Float>.stride : 0
        let offsets = (g.columnRows + Int(FOVEA_SHIFTED_IMAGE_OFFSET_SLACK)) * MemoryLayout<Int32>.stride
        return planes + offsets + weights.packedWeightBytes(g)
    }

    /// `y = epilogue(conv(x, w′) + bias (+ residual))` with w′ = w·outputScale (w when nil), for
    /// `g` (`handles(g)`) and `blocking` (`blocking(for: g)`); `residual` has the output's shape.
    func forward(input: Tensor, weight: Tensor, outputScale: Tensor? = nil, bias: Tensor?, epilogue activation: ConvolutionEpilogue = .none,
                 residual: Tensor? = nil, geometry g: Conv2DGeometry, blocking: Blocking) -> Tensor {
        let packed = weights.cachedPackedWeights(weight, scale: outputScale, geometry: g)
            ?? weights.packWeights(weight.scalingOutputChannels(by: outputScale), geometry: g)
        return forward(input: input, packedWeights: packed, bias: bias, epilogue: activation, residual: residual, geometry: g,
                       blocking: blocking)
    }

    /// The forward with the weights already packed as `PointwiseConvolution.packWeights` packs
    /// them for `g` (⌈K/32⌉ panels of C·R·S steps).
    func forward(input: Tensor, packedWeights packed: Tensor, bias: Tensor?, epilogue activation: ConvolutionEpilogue = .none,
                 residual: Tensor? = nil, geometry g: Conv2DGeometry, blocking: Blocking) -> Tensor {
        precondition(handles(g), "ChannelLanesConvolution: \(g) is not a layer this device's \(kernel.name) kernel runs")
        var output = Tensor(uninitialized: g.outputShape)  // every element is written below
        let table = shifted.offsets(g)
        var planes = blocking.splitsIntoPhases ? Tensor(uninitialized: [g.batch * blocking.phasePlaneFloats]) : input
        if blocking.splitsIntoPhases {
            input.withUnsafeBufferPointer { x in
                planes.withUnsafeMutableBufferPointer { z in
                    let (x, z) = (SendablePointer(x.baseAddress!), SendablePointer(z.baseAddress!))
                    let (planeSize, phaseFloats) = (g.inputHeight * g.inputWidth, blocking.phasePlaneFloats / max(g.inputChannels, 1))
                    Parallel.forEach(g.batch * g.inputChannels, threads: threads) { _, plane in
                        ShiftedImageConvolution.splitIntoPhases(x.pointer + plane * planeSize, geometry: g, planeHeight: blocking.planeHeight,
                                                                planeWidth: blocking.planeWidth, into: z.pointer + plane * phaseFloats)
                    }
                }
            }
        }
        Tensor.withOptionalPointer(PointwiseConvolution.panelBias(bias, outputs: g.outputChannels)) { biasPointer in
            Tensor.withOptionalPointer(residual) { residualPointer in
                planes.withUnsafeBufferPointer { z in
                    packed.withUnsafeBufferPointer { w in
                        table.withUnsafeBufferPointer { offsets in
                            output.withUnsafeMutableBufferPointer { y in
                                let call = ChannelLanesForwardCall(
                                    geometry: g, blocking: blocking, depthBlock: kernel.kc, planes: z.baseAddress!, offsets: offsets.baseAddress!,
                                    weights: w.baseAddress!, output: y.baseAddress!, bias: biasPointer, residual: residualPointer,
                                    relu: activation == .relu)
                                Parallel.forEach(blocking.items(batch: g.batch), threads: threads) { _, item in call.run(item: item) }
                            }
                        }
                    }
                }
            }
        }
        return output
    }
}

/// One forward call of `ChannelLanesConvolution`: its operands, and the tiles of one work item.
private struct ChannelLanesForwardCall: @unchecked Sendable {
    let geometry: Conv2DGeometry
    let blocking: ChannelLanesConvolution.Blocking
    /// The GEMM's kc: the taps each partial sum covers.
    let depthBlock: Int
    /// The images' phase planes (N · phasePlaneFloats), or the images themselves when not split.
    let planes: UnsafePointer<Float>
    let offsets: UnsafePointer<Int32>
    let weights: UnsafePointer<Float>
    /// `[N, K, P, Q]`.
    let output: UnsafeMutablePointer<Float>
    /// ⌈K/32⌉·32 values (`PointwiseConvolution.panelBias`), or nil.
    let bias: UnsafePointer<Float>?
    let residual: UnsafePointer<Float>?
    let relu: Bool

    /// Item `item` = (image or all images, row block, channel part): for each of its panels, for
    /// each of its images, each of its output rows in tiles of up to 14 positions, in order.
    func run(item: Int) {
        let g = geometry
        let (unit, channelPart) = (item / blocking.channelParts, item % blocking.channelParts)
        let (imageUnit, rowPart) = (unit / blocking.rowParts, unit % blocking.rowParts)
        let images = blocking.allImagesPerItem ? 0..<g.batch : imageUnit..<(imageUnit + 1)
        let (width, tile) = (PointwiseConvolution.channelsPerPanel, PointwiseConvolution.positionsPerTile)
        let (depth, channels, q) = (g.columnRows, g.outputChannels, g.outputWidth)
        let positions = g.outputHeight * q
        let imageFloats = blocking.splitsIntoPhases ? blocking.phasePlaneFloats : g.inputChannels * g.inputHeight * g.inputWidth
        let panels = (channels + width - 1) / width
        let rows = min(rowPart * blocking.rowsPerPart, g.outputHeight)..<min((rowPart + 1) * blocking.rowsPerPart, g.outputHeight)
        for panel in min(channelPart * blocking.panelsPerPart, panels)..<min((channelPart + 1) * blocking.panelsPerPart, panels) {
            let k0 = panel * width
            let w = weights + panel * width * depth
            for image in images {
                let z = planes + image * imageFloats
                let (y, r) = (output + image * channels * positions, residual.map { $0 + image * channels * positions })
                for oy in rows {
                    for ox in stride(from: 0, to: q, by: tile) {
                        let at = k0 * positions + oy * q + ox
                        fovea_shifted_channels_tile_32x14_avx512(
                            depth, depthBlock, z + oy * blocking.planeWidth + ox, offsets, w, y + at, positions, Int32(min(tile, q - ox)),
                            Int32(min(width, channels - k0)), bias.map { $0 + k0 }, r.map { $0 + at }, relu ? 1 : 0)
                    }
                }
            }
        }
    }
}
