import FoveaCore
import FoveaKernels

/// The Dispatch backend's convolution rules:
///
/// | pass            | algorithms                                  | rule, first that applies                                   |
/// |-----------------|---------------------------------------------|------------------------------------------------------------|
/// | forward         | winograd4/2, pointwise, channel-lanes,      | Winograd by `ConvolutionCostModel` (margin 1.15; `winogradChoice`); |
/// |                 | shifted-image, direct, im2col               | pointwise where `pointwisePays`; channel lanes where `channelLanesPays`; |
/// |                 |                                             | shifted image where `shiftedImagePays`; else direct        |
/// | backward-data   | winograd4/2, direct, channel-lanes, im2col  | Winograd by the cost model (margin 1) on `WinogradConvolution.backwardDataGeometry`; direct for pointwise layers; |
/// |                 |                                             | channel lanes where `channelLanesBackwardDataPays` its `backwardDataGeometry`; else im2col |
/// | backward-filter | shifted-rows, direct, im2col                | shifted rows where `shiftedRowsPays`; direct where its kernel runs the layer; else im2col |
///
/// im2col is never chosen for forward, but runs when forced. No rule reads the thread count.
/// Each plan (`DispatchConvolutionPlan`) carries its driver's blocking (`blocking(for:)`), which
/// may follow the device's thread count; the device passes it to the driver on every call.
struct DispatchConvolutionPlanner: ConvolutionPlanner {
    let setting: WinogradSetting
    let im2col: Im2colConvolution
    let winograd: WinogradConvolution
    let direct: DirectGEMMConvolution
    let directBackwardFilter: DirectGEMMBackwardFilter
    let shiftedImage: ShiftedImageConvolution
    let pointwise: PointwiseConvolution
    let channelLanes: ChannelLanesConvolution
    let shiftedRows: ShiftedImageBackwardFilter

    func algorithms(for pass: ConvolutionPass) -> [ConvolutionAlgorithm] {
        switch pass {
        case .forward: [.winograd4, .winograd2, .pointwise, .channelLanes, .shiftedImage, .direct, .im2col]
        case .backwardData: [.winograd4, .winograd2, .direct, .channelLanes, .im2col]
        case .backwardFilter: [.shiftedRows, .direct, .im2col]
        }
    }

    func reasonUnavailable(_ algorithm: ConvolutionAlgorithm, for g: Conv2DGeometry, pass: ConvolutionPass) -> String? {
        let kernel = direct.kernel
        let limit = "the workspace limit of \(direct.workspaceLimitBytes) bytes"
        switch (algorithm, pass) {
        case (.winograd4, _), (.winograd2, _):
            return GEMMConvolutionPlanner.winogradUnavailability(winograd, tileSize: algorithm.winogradTileSize!, for: g, pass: pass)
        case (.shiftedImage, .forward) where !shiftedImage.handles(g):
            return "the shifted-image kernel needs one group (got \(g.groups)), a micro-kernel with a shifted-image variant (AVX-512 12×32 or AVX2 6×16; this device's is \(kernel.name)), 32-bit plane offsets, and one worker's phase planes and staging within \(limit)"
        case (.pointwise, .forward) where !pointwise.handles(g):
            return "the pointwise kernel needs a 1×1 kernel without padding and one group (got \(g.kernelHeight)×\(g.kernelWidth), padding \(g.options.padding), \(g.groups) groups), the AVX-512 micro-kernel (this device's is \(kernel.name)), and its packed weights (and, with a stride, the subsampled input) within \(limit)"
        case (.channelLanes, .forward) where !channelLanes.handles(g):
            return "the channel-lanes kernel needs one group (got \(g.groups)), the AVX-512 micro-kernel (this device's is \(kernel.name)), 32-bit offsets into the phase planes, and the phase planes, offsets and packed weights within \(limit)"
        case (.channelLanes, .backwardData) where !(ChannelLanesConvolution.backwardDataGeometry(g).map(channelLanes.handles) ?? false):
            return "the channel-lanes backward-data needs stride 1, dilation 1, one group and padding below the kernel size (got stride \(g.options.stride), dilation \(g.options.dilation), \(g.groups) groups, padding \(g.options.padding), kernel \(g.kernelHeight)×\(g.kernelWidth)), the AVX-512 micro-kernel (this device's is \(kernel.name)), and its forward's phase planes, offsets and packed weights within \(limit)"
        case (.shiftedRows, .backwardFilter) where !shiftedRows.handles(g):
            return "the shifted-rows kernel needs stride 1 (got \(g.options.stride)), one group (got \(g.groups)), a non-empty batch and output, the AVX-512 12×32 or AVX2 6×16 micro-kernel (this device's is \(kernel.name)), 32-bit row offsets, and its padded images, ∂Wᵀ and one worker's panels within \(limit)"
        case (.direct, .backwardData) where DirectGEMMConvolution.pointwiseBackwardDataGeometry(g) == nil:
            return "the direct backward-data needs a 1×1 kernel without padding (any stride) and one group; got \(g.kernelHeight)×\(g.kernelWidth), padding \(g.options.padding), \(g.groups) groups"
        case (.direct, .backwardFilter) where !directBackwardFilter.handles(g):
            return "the direct backward-filter needs the AVX-512 12×32 or AVX2 6×16 micro-kernel (this device's is \(kernel.name)) and its partial sums within \(limit)"
        default:
            return nil
        }
    }

    func plan(_ algorithm: ConvolutionAlgorithm, for g: Conv2DGeometry, pass: ConvolutionPass) -> ConvolutionPlan {
        dispatchPlan(algorithm, for: g, pass: pass).plan
    }

    func chosenPlan(for g: Conv2DGeometry, pass: ConvolutionPass) -> ConvolutionPlan {
        chosenDispatchPlan(for: g, pass: pass).plan
    }

    /// The plan for `pass` of `g` with its driver's blocking: the forced algorithm's where
    /// `override` names one for `pass`, else the rules' choice.
    /// - Throws: `FoveaError` when the forced algorithm cannot run `g` (`forcedAlgorithm`).
    func dispatchPlan(for g: Conv2DGeometry, pass: ConvolutionPass, forcing override: ConvolutionAlgorithmOverride) throws
        -> DispatchConvolutionPlan {
        guard let forced = try forcedAlgorithm(for: g, pass: pass, override) else { return chosenDispatchPlan(for: g, pass: pass) }
        return DispatchConvolutionPlan(pass: pass, blocking: blocking(forced, for: g, pass: pass), forced: true)
    }

    /// The plan of `algorithm`, which can run `pass` of `g` (`reasonUnavailable` is nil).
    func dispatchPlan(_ algorithm: ConvolutionAlgorithm, for g: Conv2DGeometry, pass: ConvolutionPass) -> DispatchConvolutionPlan {
        DispatchConvolutionPlan(pass: pass, blocking: blocking(algorithm, for: g, pass: pass))
    }

    /// The rules of the table above, each choice with its driver's blocking.
    func chosenDispatchPlan(for g: Conv2DGeometry, pass: ConvolutionPass) -> DispatchConvolutionPlan {
        switch pass {
        case .forward:
            if let tiles = winogradChoice(g, margin: ConvolutionCostModel.margin) {
                return DispatchConvolutionPlan(pass: pass, blocking: .winograd(tiles))
            }
            if pointwisePays(g) { return dispatchPlan(.pointwise, for: g, pass: pass) }
            if channelLanesPays(g) { return dispatchPlan(.channelLanes, for: g, pass: pass) }
            return dispatchPlan(shiftedImagePays(g) ? .shiftedImage : .direct, for: g, pass: pass)
        case .backwardData:
            // The alternative, im2col + GEMM + col2im, is slower than the direct forward GEMM the
            // cost model prices, so Winograd needs no margin here.
            if let tiles = WinogradConvolution.backwardDataGeometry(g).flatMap({ winogradChoice($0, margin: 1) }) {
                return DispatchConvolutionPlan(pass: pass, blocking: .winograd(tiles))
            }
            // A 1×1 unpadded layer's backward-data is a pointwise forward with Wᵀ (spread over the
            // stride's grid): no col2im, and Wᵀ packed once per call rather than per image.
            if DirectGEMMConvolution.pointwiseBackwardDataGeometry(g) != nil { return dispatchPlan(.direct, for: g, pass: pass) }
            // Other stride-1 layers: the forward of ∂y with flip(Wᵀ), where that forward would run
            // in the channel lanes (narrow rows), instead of im2col's column matrix and col2im.
            if let flipped = ChannelLanesConvolution.backwardDataGeometry(g), channelLanesBackwardDataPays(flipped: flipped) {
                return dispatchPlan(.channelLanes, for: g, pass: pass)
            }
            return dispatchPlan(.im2col, for: g, pass: pass)
        case .backwardFilter:
            if shiftedRowsPays(g) { return dispatchPlan(.shiftedRows, for: g, pass: pass) }
            return dispatchPlan(directBackwardFilter.handles(g) ? .direct : .im2col, for: g, pass: pass)
        }
    }

    /// The blocking of `algorithm`'s driver for `pass` of `g` (`blocking(for:)` of the driver; for
    /// Winograd the tile plan of `GEMMConvolutionPlanner.winogradGeometry(g, pass:)`).
    func blocking(_ algorithm: ConvolutionAlgorithm, for g: Conv2DGeometry, pass: ConvolutionPass) -> DispatchConvolutionPlan.Blocking {
        if let tileSize = algorithm.winogradTileSize {
            return .winograd(winograd.tilePlan(for: GEMMConvolutionPlanner.winogradGeometry(g, pass: pass)!, tileSize: tileSize)!)
        }
        return switch (algorithm, pass) {
        case (.shiftedImage, _): .shiftedImage(shiftedImage.blocking(for: g))
        case (.pointwise, _): .pointwise(pointwise.blocking(for: g), prologueBlocking: direct.blocking(for: g))
        case (.channelLanes, .backwardData): .channelLanes(channelLanes.blocking(for: ChannelLanesConvolution.backwardDataGeometry(g)!))
        case (.channelLanes, _): .channelLanes(channelLanes.blocking(for: g))
        case (.shiftedRows, _): .shiftedRows(shiftedRows.blocking(for: g))
        case (.direct, .forward): .direct(direct.blocking(for: g))
        case (.direct, .backwardData): .directBackwardData(direct.blocking(for: DirectGEMMConvolution.pointwiseBackwardDataGeometry(g)!))
        case (.direct, _): .directBackwardFilter(directBackwardFilter.blocking(for: g))
        default: .im2col(workspaceBytes: im2col.workspaceBytes(for: g, pass: pass))
        }
    }

    /// The Winograd tile plan the forward convolution `g` takes, or nil for the other algorithms:
    /// under `.automatic` the cheaper of F(4×4) and F(2×2) by `ConvolutionCostModel` when its
    /// estimate times `margin` is at most the direct GEMM's (with `FOVEA_WINOGRAD=f2x2` only
    /// F(2×2) is considered); under `.always` the setting's tile size wherever eligible; under `.never` nil.
    func winogradChoice(_ g: Conv2DGeometry, margin: Double) -> WinogradPlan? {
        switch setting.policy {
        case .never: nil
        case .always: winograd.tilePlan(for: g, tileSize: setting.tileSize)
        case .automatic: cheapestWinograd(g, margin: margin)
        }
    }

    /// Prices each tile size's plan made at `ConvolutionCostModel.pricingThreads`, not at the
    /// device's thread count (the panel plan's blocks follow the thread count, and the choice
    /// must not); the chosen tile size then runs with the plan for the device's thread count.
    /// Where the transforms take any consecutive tiles (AVX2's C ones, the portable Swift ones: no
    /// `tileRowLanes`) both tile sizes are priced by the tiles themselves — for layers whose F(4×4)
    /// filters take at most `ConvolutionCostModel.gatheredPricingFilterLimitBytes`; larger layers
    /// as by tile rows.
    private func cheapestWinograd(_ g: Conv2DGeometry, margin: Double) -> WinogradPlan? {
        var best: (tileSize: WinogradTileSize, cost: Double)?
        let gathered = winograd.tileKernels[.f4x4]?.tileRowLanes == nil
            && ConvolutionCostModel.keptFilterBytes(g, tileSize: .f4x4) <= ConvolutionCostModel.gatheredPricingFilterLimitBytes
        for tileSize in setting.tileSize == .f2x2 ? [WinogradTileSize.f2x2] : [.f4x4, .f2x2] {
            guard let priced = winograd.tilePlan(for: g, tileSize: tileSize, threads: ConvolutionCostModel.pricingThreads) else { continue }
            let cost = ConvolutionCostModel.winograd(g, priced, tileSize: tileSize, byTileRows: !gathered)
            if cost < best?.cost ?? .infinity { best = (tileSize, cost) }
        }
        guard let best, best.cost * margin <= ConvolutionCostModel.direct(g, direct) else { return nil }
        return winograd.tilePlan(for: g, tileSize: best.tileSize)
    }

    /// Whether the shifted-image forward runs `g` instead of the direct GEMM (Winograd, where
    /// taken, comes first): where packing the image is a large share of the work and the dropped
    /// columns a small one — unpadded 1×1 layers on at most 64 input channels; other layers with
    /// at most 128 output channels and at most 10% dropped columns (`Wz − Q ≤ Q/10`) — with the
    /// AVX2 kernel, strided ones at batch 1 only (at batch 8 its 3×3 stride-2 layers measured
    /// 0.93–0.97× the direct GEMM, and their phase planes of the whole batch raised the peak
    /// memory), except image stems (at most `stemChannels` input channels: ResNet-50's 7×7/2 stem
    /// at batch 8 measured 1.31× the direct GEMM, whose stride-2 packing of 3 channels is slow).
    /// Measured against the direct GEMM in Docs/Performance.md.
    /// The most input channels of an image stem (RGB, RGBA) for `shiftedImagePays`.
    static let stemChannels = 4

    func shiftedImagePays(_ g: Conv2DGeometry) -> Bool {
        guard shiftedImage.handles(g) else { return false }
        let unpaddedOneByOne = g.kernelHeight == 1 && g.kernelWidth == 1 && g.options.padding == 0
        if unpaddedOneByOne { return g.inputChannels <= 64 }
        let strided = g.options.stride.height > 1 || g.options.stride.width > 1
        if strided && g.batch > 1 && !shiftedImage.kernel.isAVX512 && g.inputChannels > Self.stemChannels { return false }
        return g.outputChannels <= 128 && (shiftedImage.planeWidth(g) - g.outputWidth) * 10 <= g.outputWidth
    }

    /// Whether the pointwise forward runs `g` (a layer it handles) instead of the shifted-image or
    /// direct GEMM: on at least `pointwiseMinimumInputChannels` input channels, where the C steps
    /// of a tile pay for its two register transposes. Measured in Docs/Performance.md, "Pointwise
    /// layers with the channels in the lanes" and "Back on a Zen 4" (ResNet-50's 64-channel layers).
    func pointwisePays(_ g: Conv2DGeometry) -> Bool {
        pointwise.handles(g) && g.inputChannels >= Self.pointwiseMinimumInputChannels
    }

    /// The fewest input channels for which `pointwisePays` takes a pointwise layer; fewer go to
    /// the shifted-image or direct GEMM.
    static let pointwiseMinimumInputChannels = 64

    /// Whether the channel-lanes forward runs `g` (Winograd and the pointwise kernel, where taken,
    /// come first): every layer larger than 1×1 it handles. On AVX-512 its 14-position tiles beat
    /// or matched both GEMMs over the image on every such layer measured, wide rows included (2
    /// threads, a Zen 4: AlexNet's 5×5 at batch 8 16.0 against the direct GEMM's 17.6–18.3 ms, the
    /// 9×9 layers 97 % of peak against 89 %, ResNet-50's and VGG's 3×3 layers where Winograd is off
    /// 1.08–1.25× the faster GEMM, level on ResNet-50's 128 → 128 at 28×28 and batch 1); before
    /// 14-position tiles it paid only where the GEMMs pad most (strided
    /// layers, outputs narrower than 16, stems). Measured in Docs/Performance.md, "Back on a Zen 4".
    func channelLanesPays(_ g: Conv2DGeometry) -> Bool {
        channelLanes.handles(g) && (g.kernelHeight > 1 || g.kernelWidth > 1)
    }

    /// Whether the channel-lanes backward-data runs `g`, given its flipped forward geometry
    /// (`ChannelLanesConvolution.backwardDataGeometry`): where that forward's rows are narrower
    /// than 16 (cnn-bn's conv2, 7×7 layers) or it has at most `stemChannels` input channels (the
    /// layer has that many outputs). Not wider rows: there the flipped forward pads ∂y by
    /// kernel − 1 − padding on every side, and 9×9 layers took 1.1–1.6× im2col's time, a 7×7 at
    /// 16×16 1.9–2.1× (AlexNet's 5×5 about 0.9×); measured in Docs/Performance.md, "Back on a Zen 4".
    func channelLanesBackwardDataPays(flipped g: Conv2DGeometry) -> Bool {
        channelLanes.handles(g) && (g.outputWidth < 16 || g.inputChannels <= Self.stemChannels)
    }

    /// Whether the shifted-rows backward-filter runs `g` instead of the direct one: at most 64
    /// output channels (where building colᵀ is most of the direct path's work) and at least 256
    /// taps (C·R·S, so the 12-row panels split evenly). Measured in Docs/Performance.md.
    func shiftedRowsPays(_ g: Conv2DGeometry) -> Bool {
        g.outputChannels <= 64 && g.columnRows >= 256 && shiftedRows.handles(g)
    }
}
