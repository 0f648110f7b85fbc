import FoveaCore
import FoveaKernels

/// The Grand Central Dispatch backend: Fovea's own packed SIMD GEMM (`PackedGEMM`, with the
/// fastest micro-kernel the CPU runs); convolution forward by Winograd (AVX-512 tile transforms)
/// where its rule takes the layer, else by a GEMM reading B straight from the image's shifted
/// phase planes (`ShiftedImageConvolution`) or packing it from the image (`DirectGEMMConvolution`);
/// backward-data by Winograd F(4×4) or F(2×2), else im2col/col2im (in C with AVX-512 or AVX2 where
/// the CPU has it) + that GEMM (`GEMMBackedDevice`); backward-filter by a direct GEMM
/// (`DirectGEMMBackwardFilter`), or for stride-1 layers with few outputs one reading the image's
/// shifted rows (`ShiftedImageBackwardFilter`); and the other operations in `DispatchDevice+*.swift`, parallel
/// over `DispatchQueue.concurrentPerform` with `threadCount` workers. Operations it does not
/// implement go to `fallback` (normally `NaiveDevice`). `DispatchConvolutionPlanner` holds the
/// convolution rules (explained in Docs/Backends.md).
public struct DispatchDevice: GEMMBackedDevice {
    public let threadCount: Int
    public let fallback: (any Device)?
    /// The micro-kernel and blocking of every GEMM the device runs.
    package let kernel: GEMMKernel
    /// Algorithms forced per pass instead of the planner's choice.
    public let algorithms: ConvolutionAlgorithmOverride
    /// The convolution rules, holding the drivers they choose between.
    let planner: DispatchConvolutionPlanner
    let plans = ConvolutionPlanCache<DispatchConvolutionPlan>()

    /// - Parameters:
    ///   - workspaceBytesPerWorker: the largest im2col tile one worker packs (default 8 MiB).
    ///   - workspaceLimitBytes: the most convolution workspace one call allocates over all its
    ///     workers (default 64 MiB; see `Im2colConvolution`).
    ///   - policy, winogradTileSize: when 3×3 stride-1 convolutions use Winograd (`DispatchConvolutionPlanner`).
    ///   - algorithms: algorithms forced per pass (a forced one that cannot run a layer's geometry
    ///     makes `convolutionPlan(for:pass:)` throw).
    public init(threads: Int, fallback: (any Device)?, workspaceBytesPerWorker: Int = Im2colConvolution.defaultWorkspaceBytesPerWorker,
                workspaceLimitBytes: Int = Im2colConvolution.defaultWorkspaceLimitBytes,
                winograd policy: WinogradPolicy = .automatic, winogradTileSize: WinogradTileSize = .f4x4,
                algorithms: ConvolutionAlgorithmOverride = .none) {
        self.init(threads: threads, fallback: fallback, workspaceBytesPerWorker: workspaceBytesPerWorker,
                  workspaceLimitBytes: workspaceLimitBytes, winograd: policy, winogradTileSize: winogradTileSize,
                  kernel: .best, algorithms: algorithms)
    }

    /// The device with another GEMM micro-kernel or blocking than `GEMMKernel.best` (the public
    /// initialiser's): tests pass kernels with tiny blocking to exercise every block edge on small
    /// shapes. `kernel` must be one of `GEMMKernel.available`.
    package init(threads: Int, fallback: (any Device)?, workspaceBytesPerWorker: Int = Im2colConvolution.defaultWorkspaceBytesPerWorker,
                 workspaceLimitBytes: Int = Im2colConvolution.defaultWorkspaceLimitBytes,
                 winograd policy: WinogradPolicy = .automatic, winogradTileSize: WinogradTileSize = .f4x4,
                 kernel: GEMMKernel, algorithms: ConvolutionAlgorithmOverride = .none) {
        threadCount = max(threads, 1)
        self.fallback = fallback
        self.kernel = kernel
        self.algorithms = algorithms
        let gemm = PackedGEMM.serial(kernel: kernel)
        let prepacked = PackedGEMM.prepacked(kernel: kernel)
        let im2col: Im2colConvolution
        if let packColumns = ConvolutionPacking.vectorIm2col(for: kernel), let accumulateColumns = ConvolutionPacking.vectorCol2im(for: kernel) {
            im2col = Im2colConvolution(threads: threadCount, workspaceBytesPerWorker: workspaceBytesPerWorker,
                                       workspaceLimitBytes: workspaceLimitBytes, gemm: gemm, prepackedGEMM: prepacked, packColumns: packColumns,
                                       accumulateColumns: accumulateColumns)
        } else {
            im2col = Im2colConvolution(threads: threadCount, workspaceBytesPerWorker: workspaceBytesPerWorker,
                                       workspaceLimitBytes: workspaceLimitBytes, gemm: gemm, prepackedGEMM: prepacked)
        }
        let winograd = WinogradConvolution(threads: threadCount, workspaceBytesPerWorker: workspaceBytesPerWorker,
                                           workspaceLimitBytes: workspaceLimitBytes, filterCache: .shared,
                                           tileKernels: WinogradTileKernels.forKernel(kernel),
                                           panelGEMM: WinogradPanelGEMM(kernel: kernel), gemm: gemm)
        planner = DispatchConvolutionPlanner(
            setting: WinogradSetting(policy: policy, tileSize: winogradTileSize), im2col: im2col, winograd: winograd,
            direct: DirectGEMMConvolution(threads: threadCount, kernel: kernel, workspaceLimitBytes: workspaceLimitBytes),
            directBackwardFilter: DirectGEMMBackwardFilter(threads: threadCount, kernel: kernel, workspaceLimitBytes: workspaceLimitBytes),
            shiftedImage: ShiftedImageConvolution(threads: threadCount, kernel: kernel, workspaceLimitBytes: workspaceLimitBytes),
            pointwise: PointwiseConvolution(threads: threadCount, kernel: kernel, workspaceLimitBytes: workspaceLimitBytes),
            channelLanes: ChannelLanesConvolution(threads: threadCount, kernel: kernel, workspaceLimitBytes: workspaceLimitBytes),
            shiftedRows: ShiftedImageBackwardFilter(threads: threadCount, kernel: kernel, workspaceLimitBytes: workspaceLimitBytes))
    }

    public var name: String { "dispatch" }
    public var serialGEMM: SerialGEMM { convolution.gemm }
    public var convolution: Im2colConvolution { planner.im2col }
    public var winograd: WinogradConvolution { planner.winograd }
    var directConvolution: DirectGEMMConvolution { planner.direct }
    var directBackwardFilter: DirectGEMMBackwardFilter { planner.directBackwardFilter }
    var shiftedImage: ShiftedImageConvolution { planner.shiftedImage }
    var pointwise: PointwiseConvolution { planner.pointwise }
    var channelLanes: ChannelLanesConvolution { planner.channelLanes }
    var shiftedBackwardFilter: ShiftedImageBackwardFilter { planner.shiftedRows }

    public func convolutionPlan(for g: Conv2DGeometry, pass: ConvolutionPass) throws -> ConvolutionPlan {
        try dispatchPlan(for: g, pass: pass).plan
    }

    /// The plan, with its driver's blocking, this device runs for `pass` of `g` (made once, then kept).
    /// - Throws: `FoveaError` when an algorithm forced for `pass` cannot run `g`.
    func dispatchPlan(for g: Conv2DGeometry, pass: ConvolutionPass) throws -> DispatchConvolutionPlan {
        try plans.plan(for: g, pass: pass) { try planner.dispatchPlan(for: g, pass: pass, forcing: algorithms) }
    }

    /// `dispatchPlan` for an operation that cannot throw: a forced algorithm that cannot run `g`
    /// stops the program with the planner's message (layers call `checkConvolutionPlan` first).
    private func requiredPlan(for g: Conv2DGeometry, pass: ConvolutionPass) -> DispatchConvolutionPlan {
        do { return try dispatchPlan(for: g, pass: pass) } catch { fatalError("Fovea: \(error)") }
    }

    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, geometry: Conv2DGeometry) -> Tensor {
        conv2dForward(input: input, weight: weight, bias: bias, epilogue: .none, geometry: geometry)
    }

    /// Runs the plan's forward: `winograd4`/`winograd2`, `pointwise`, `shifted-image`, `direct` or `im2col`.
    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue, geometry: Conv2DGeometry) -> Tensor {
        planForward(input: input, prologue: nil, weight: weight, outputScale: nil, bias: bias, residual: nil, epilogue: epilogue, geometry: geometry)
    }

    /// Runs the plan's forward with the residual added to each output tile by `direct`,
    /// `pointwise` and `shifted-image`; after the other algorithms, in one pass over the output
    /// (`addResidual`), so the sum and the activation never take two passes.
    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, residual: Tensor, epilogue: ConvolutionEpilogue,
                              geometry: Conv2DGeometry) -> Tensor {
        planForward(input: input, prologue: nil, weight: weight, outputScale: nil, bias: bias, residual: residual, epilogue: epilogue, geometry: geometry)
    }

    /// Runs the plan's forward with the batch-norm prologue fused: by the pointwise kernel over
    /// each work item's normalised columns when the plan is `pointwise` and the stride 1
    /// (DenseNet's 1×1 bottlenecks); applied to the input panels as the direct GEMM packs them
    /// for other `direct` or `pointwise` plans of a pointwise layer; otherwise the batch norm,
    /// then the convolution.
    public func conv2dForward(input: Tensor, prologue: BatchNormPrologue, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue,
                              geometry: Conv2DGeometry) -> Tensor {
        planForward(input: input, prologue: prologue, weight: weight, outputScale: nil, bias: bias, residual: nil, epilogue: epilogue, geometry: geometry)
    }

    /// With a `pointwise` plan at stride 1, the pointwise kernel normalises each work item's
    /// columns from the parts; with a native kernel (AVX-512, AVX2) and another `direct` or
    /// `pointwise` plan for a pointwise layer, the direct GEMM packs its input panels from the
    /// parts, each step from the part holding its channel, with the prologue applied; otherwise
    /// the parts are concatenated first. Every way the same values, bit for bit.
    public func conv2dForward(parts: [Tensor], prologue: BatchNormPrologue, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue,
                              geometry: Conv2DGeometry) -> Tensor {
        let plan = requiredPlan(for: geometry, pass: .forward)
        if let y = pointwiseWithPrologue(parts: parts, prologue: prologue, weight: weight, outputScale: nil, bias: bias, epilogue: epilogue,
                                         geometry: geometry, plan: plan) {
            return y
        }
        guard let blocking = plan.blocking.prologueBlocking, DirectGEMMConvolution.packsParts(geometry, kernel: kernel) else {
            return conv2dForward(input: concatenateChannels(parts), prologue: prologue, weight: weight, bias: bias, epilogue: epilogue,
                                 geometry: geometry)
        }
        return directConvolution.forward(parts: parts, weight: weight, bias: bias, epilogue: epilogue, prologue: BatchNormCoefficients(prologue, channels: geometry.inputChannels),
                                         geometry: geometry, blocking: blocking)
    }

    /// Keeps packed and Winograd-transformed weights (`PackedWeightCache`), so a folded batch
    /// norm's scale comes to the forward below instead of a folded copy of the weight.
    public var keepsPreparedWeights: Bool { true }

    /// The plan's forward with `w′ = w·outputScale` packed (`direct`, `shifted-image`) or
    /// transformed (`winograd`) from `w` and the scale and kept under both tensors' contents, so
    /// `w′` itself exists only until the preparation is kept; `im2col` scales the weight per call.
    /// The same bits as the unscaled variants given `w′`.
    public func conv2dForward(input: Tensor, prologue: BatchNormPrologue?, weight: Tensor, outputScale: Tensor, bias: Tensor?,
                              residual: Tensor?, epilogue: ConvolutionEpilogue, geometry: Conv2DGeometry) -> Tensor {
        planForward(input: input, prologue: prologue, weight: weight, outputScale: outputScale, bias: bias, residual: residual,
                    epilogue: epilogue, geometry: geometry)
    }

    /// The pointwise forward with `prologue` normalising each work item's columns, when `plan` is
    /// `pointwise` and the layer's stride 1 (`PointwiseConvolution.runsPrologue`); else nil.
    private func pointwiseWithPrologue(parts: [Tensor], prologue: BatchNormPrologue, weight: Tensor, outputScale: Tensor?, bias: Tensor?,
                                       epilogue: ConvolutionEpilogue, geometry: Conv2DGeometry, plan: DispatchConvolutionPlan) -> Tensor? {
        guard case .pointwise(let blocking, _) = plan.blocking, pointwise.runsPrologue(geometry) else { return nil }
        return pointwise.forward(parts: parts, weight: weight, outputScale: outputScale, bias: bias, epilogue: epilogue,
                                 prologue: BatchNormCoefficients(prologue, channels: geometry.inputChannels), geometry: geometry, blocking: blocking)
    }

    /// Every forward variant's plan: the prologue fused into the direct GEMM's packing for a
    /// pointwise layer planned `direct` or `pointwise` (without a residual), else applied first;
    /// the residual added per output tile by `direct`, `pointwise` and `shifted-image`, after
    /// `winograd` and `im2col` in one pass (`addResidual`); the weights
    /// scaled by `outputScale` (when given) as the algorithms prepare them.
    private func planForward(input: Tensor, prologue: BatchNormPrologue?, weight: Tensor, outputScale: Tensor?, bias: Tensor?,
                             residual: Tensor?, epilogue: ConvolutionEpilogue, geometry: Conv2DGeometry) -> Tensor {
        let plan = requiredPlan(for: geometry, pass: .forward)
        if let prologue, residual == nil,
           let y = pointwiseWithPrologue(parts: [input], prologue: prologue, weight: weight, outputScale: outputScale, bias: bias,
                                         epilogue: epilogue, geometry: geometry, plan: plan) {
            return y
        }
        if let prologue, residual == nil, let blocking = plan.blocking.prologueBlocking, geometry.isPointwise {
            return directConvolution.forward(input: input, weight: weight, outputScale: outputScale, bias: bias, epilogue: epilogue,
                                             prologue: BatchNormCoefficients(prologue, channels: geometry.inputChannels), geometry: geometry, blocking: blocking)
        }
        let x = prologue.map { applying($0, to: input) } ?? input
        var output: Tensor
        switch plan.blocking {
        case .shiftedImage(let blocking):
            return shiftedImage.forward(input: x, weight: weight, outputScale: outputScale, bias: bias, epilogue: epilogue,
                                        residual: residual, geometry: geometry, blocking: blocking)
        case .direct(let blocking):
            return directConvolution.forward(input: x, weight: weight, outputScale: outputScale, bias: bias, epilogue: epilogue,
                                             residual: residual, geometry: geometry, blocking: blocking)
        case .pointwise(let blocking, _):
            return pointwise.forward(input: x, weight: weight, outputScale: outputScale, bias: bias, epilogue: epilogue,
                                     residual: residual, geometry: geometry, blocking: blocking)
        case .channelLanes(let blocking):
            return channelLanes.forward(input: x, weight: weight, outputScale: outputScale, bias: bias, epilogue: epilogue,
                                        residual: residual, geometry: geometry, blocking: blocking)
        case .winograd(let tiles):
            output = winograd.forward(input: x, weight: weight, outputScale: outputScale, bias: bias,
                                      epilogue: residual == nil ? epilogue : .none, geometry: geometry, plan: tiles)
        case .im2col:
            output = convolution.forward(input: x, weight: weight.scalingOutputChannels(by: outputScale), bias: bias,
                                         epilogue: residual == nil ? epilogue : .none, geometry: geometry)
        case .directBackwardFilter, .directBackwardData, .shiftedRows:
            preconditionFailure("DispatchDevice: the planner chose \(plan.plan.algorithm) for forward")
        }
        if let residual { addResidual(residual, to: &output, epilogue: epilogue) }
        return output
    }

    /// Runs the plan's backward-data: `winograd4`/`winograd2`, `direct` (a 1×1 unpadded layer: the
    /// forward GEMM with the weight read transposed, spread over the stride's grid), `channel-lanes`
    /// (a stride-1 layer: the forward of ∂y with the flipped, transposed weight) or `im2col` (GEMM + col2im).
    public func conv2dBackwardData(gradOutput: Tensor, weight: Tensor, geometry: Conv2DGeometry) -> Tensor {
        conv2dBackwardData(gradOutput: gradOutput, weight: weight, geometry: geometry, adding: nil)
    }

    /// The same plus `adding`: the `direct` plan of a stride-1 layer adds it per output tile (the
    /// forward's residual epilogue), the others in one pass after.
    public func conv2dBackwardData(gradOutput: Tensor, weight: Tensor, geometry: Conv2DGeometry, adding: Tensor) -> Tensor {
        conv2dBackwardData(gradOutput: gradOutput, weight: weight, geometry: geometry, adding: Optional(adding))
    }

    private func conv2dBackwardData(gradOutput: Tensor, weight: Tensor, geometry: Conv2DGeometry, adding: Tensor?) -> Tensor {
        let plan = requiredPlan(for: geometry, pass: .backwardData)
        if let adding, case .directBackwardData(let blocking) = plan.blocking, geometry.options.stride == 1 {
            ElementwiseShapes.checkEqual(geometry.inputShape, adding.shape, operation: "conv2dBackwardData (adding)")
            return directConvolution.forward(input: gradOutput, weight: weight, bias: nil, residual: adding, transposedWeight: true,
                                             geometry: DirectGEMMConvolution.pointwiseBackwardDataGeometry(geometry)!, blocking: blocking)
        }
        let gradInput = conv2dBackwardDataWithoutAdding(gradOutput: gradOutput, weight: weight, geometry: geometry, plan: plan)
        return adding.map { add(gradInput, $0) } ?? gradInput
    }

    private func conv2dBackwardDataWithoutAdding(gradOutput: Tensor, weight: Tensor, geometry: Conv2DGeometry,
                                                 plan: DispatchConvolutionPlan) -> Tensor {
        switch plan.blocking {
        case .winograd(let tiles):
            return winograd.backwardData(gradOutput: gradOutput, weight: weight, geometry: geometry, plan: tiles)
        case .im2col:
            return convolution.backwardData(gradOutput: gradOutput, weight: weight, geometry: geometry)
        case .channelLanes(let blocking):
            return channelLanes.backwardData(gradOutput: gradOutput, weight: weight, geometry: geometry, blocking: blocking)
        case .directBackwardData(let blocking):
            let sums = directConvolution.forward(input: gradOutput, weight: weight, bias: nil, transposedWeight: true,
                                                 geometry: DirectGEMMConvolution.pointwiseBackwardDataGeometry(geometry)!, blocking: blocking)
            return geometry.options.stride == 1 ? sums : DirectGEMMConvolution.spread(sums, over: geometry, threads: threadCount)
        default:
            preconditionFailure("DispatchDevice: the planner chose \(plan.plan.algorithm) for backward-data")
        }
    }

    /// Runs the plan's backward-filter: `shifted-rows`, `direct` (both with the bias gradient
    /// summed separately) or `im2col`.
    public func conv2dBackwardFilter(gradOutput: Tensor, input: Tensor, geometry: Conv2DGeometry) -> Conv2DFilterGradients {
        let plan = requiredPlan(for: geometry, pass: .backwardFilter)
        let weight: Tensor
        switch plan.blocking {
        case .shiftedRows(let blocking):
            weight = shiftedBackwardFilter.backwardFilter(gradOutput: gradOutput, input: input, geometry: geometry, blocking: blocking)
        case .directBackwardFilter(let blocking):
            weight = directBackwardFilter.backwardFilter(gradOutput: gradOutput, input: input, geometry: geometry, blocking: blocking)
        case .im2col:
            return convolution.backwardFilter(gradOutput: gradOutput, input: input, geometry: geometry)
        default:
            preconditionFailure("DispatchDevice: the planner chose \(plan.plan.algorithm) for backward-filter")
        }
        return Conv2DFilterGradients(weight: weight, bias: Im2colConvolution.biasGradient(gradOutput, geometry: geometry, threads: threadCount))
    }
}
