/// 2-D convolution (PyTorch's `nn.Conv2d`): input `[N, C, H, W]` → output `[N, K, P, Q]`,
/// weight `[K, C/groups, R, S]`, optional bias `[K]`, with per-axis stride, padding, dilation and
/// groups. `P = (H + 2·padH − dilH·(R−1) − 1)/strideH + 1`, likewise Q.
///
/// Default initialisation is PyTorch's: weight and bias uniform in `±1/√fan_in`,
/// `fan_in = (C/groups)·R·S` (Kaiming uniform with a = √5).
public final class Conv2D: Layer {
    public let inputChannels: Int
    public let outputChannels: Int
    public let kernelSize: Size2D
    public let options: Conv2DOptions
    public let weight: Parameter
    public let bias: Parameter?
    private var savedInput: Tensor?
    /// The weight and bias with the following batch norm folded in, while it is current
    /// (`Conv2D+BatchNormFolding.swift`); dropped on every mode change.
    var foldedBatchNorm: FoldedBatchNorm?

    /// - Throws: `.invalidArgument` naming the argument and its valid range: channels, kernel size,
    ///   stride, dilation or groups < 1, padding < 0, channels not divisible by `groups`.
    public init(
        _ inputChannels: Int, _ outputChannels: Int, kernelSize: Size2D,
        stride: Size2D = 1, padding: Size2D = 0, dilation: Size2D = 1, groups: Int = 1,
        bias: Bool = true, seed: UInt64 = 0
    ) throws {
        let check = ArgumentCheck("Conv2D")
        try check.atLeast(1, inputChannels, "inputChannels")
        try check.atLeast(1, outputChannels, "outputChannels")
        try check.atLeast(1, kernelSize, "kernelSize")
        let options = Conv2DOptions(stride: stride, padding: padding, dilation: dilation, groups: groups)
        try options.validate(name: "Conv2D")
        for (label, channels) in [("inputChannels", inputChannels), ("outputChannels", outputChannels)] where channels % groups != 0 {
            throw FoveaError.invalidArgument("Conv2D: \(label) \(channels) must be divisible by groups \(groups)")
        }
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        self.options = options
        let shape: Shape = [outputChannels, inputChannels / groups, kernelSize.height, kernelSize.width]
        let fanIn = (inputChannels / groups) * kernelSize.height * kernelSize.width
        var generator = SeededGenerator(seed: seed)
        weight = Parameter(Initializer.pytorchDefault(shape, fanIn: fanIn, using: &generator))
        self.bias = bias ? Parameter(Initializer.pytorchDefault([outputChannels], fanIn: fanIn, using: &generator)) : nil
        super.init()
    }

    public override var parameters: [(name: String, parameter: Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    func geometry(for shape: Shape) throws -> Conv2DGeometry {
        guard shape.rank == 4 else { throw shapeError("expects a 4-D input [N, C, H, W], got \(shape)") }
        guard shape[1] == inputChannels else {
            throw shapeError("expects \(inputChannels) input channels, got \(shape[1]) (input \(shape))")
        }
        return try Conv2DGeometry(inputShape: shape, weightShape: weight.shape, options: options, name: displayName)
    }

    public override func outputShape(for shape: Shape) throws -> Shape { try geometry(for: shape).outputShape }

    /// The output-size arithmetic for an input of `shape`, per axis, as shown in summaries.
    public func arithmetic(for shape: Shape) -> (height: ConvolutionArithmetic, width: ConvolutionArithmetic) {
        (ConvolutionArithmetic(input: shape[2], kernel: kernelSize.height, stride: options.stride.height,
                               padding: options.padding.height, dilation: options.dilation.height),
         ConvolutionArithmetic(input: shape[3], kernel: kernelSize.width, stride: options.stride.width,
                               padding: options.padding.width, dilation: options.dilation.width))
    }

    public override func forward(_ input: Tensor, device: any Device) throws -> Tensor {
        let g = try geometry(for: input.shape)
        try device.checkConvolutionPlan(for: g, pass: .forward)
        savedInput = isTraining ? input : nil
        return device.conv2dForward(input: input, weight: weight.value, bias: bias?.value, geometry: g)
    }

    /// `forward` with the evaluation-mode batch norm `norm` that follows this layer folded into
    /// the weight and bias (when given), and `epilogue` fused into the convolution:
    /// `y = epilogue(conv(x, w′) + b′)`. The caller runs it instead of this layer's, the batch
    /// norm's and the activation's own `forward`, and tells them (`recordFoldedForward`,
    /// `recordFusedForward`).
    ///
    /// With a `residual` (a residual block's skip connection, of the output's shape):
    /// `y = epilogue((conv(x, w′) + b′) + residual)`, the block's add fused as well.
    /// - Throws: a shape error naming this layer when `residual`'s shape is not the output's.
    ///
    /// With a `prologue` (the evaluation-mode batch norm and activation before this layer), the
    /// input is normalised as the convolution reads it: `y = epilogue(conv(prologue(x), w′) + b′)`.
    func forward(_ input: Tensor, device: any Device, folding norm: BatchNorm2D?, epilogue: ConvolutionEpilogue,
                 residual: Tensor? = nil, prologue: BatchNormPrologue? = nil) throws -> Tensor {
        let g = try geometry(for: input.shape)
        try device.checkConvolutionPlan(for: g, pass: .forward)
        if let residual, residual.shape != g.outputShape {
            throw shapeError("the residual added to the output has shape \(residual.shape), the output \(g.outputShape)")
        }
        savedInput = isTraining ? input : nil
        var (w, b) = (weight.value, bias?.value)
        if let norm {
            _ = try norm.outputShape(for: g.outputShape)
            if device.keepsPreparedWeights {
                let (scale, foldedBias) = try foldedScaleAndBias(with: norm)
                return device.conv2dForward(input: input, prologue: prologue, weight: w, outputScale: scale, bias: foldedBias,
                                            residual: residual, epilogue: epilogue, geometry: g)
            }
            (w, b) = try foldedParameters(with: norm)
        }
        switch (prologue, residual) {
        case (nil, nil):
            return device.conv2dForward(input: input, weight: w, bias: b, epilogue: epilogue, geometry: g)
        case (let prologue?, nil):
            return device.conv2dForward(input: input, prologue: prologue, weight: w, bias: b, epilogue: epilogue, geometry: g)
        case (let prologue, let residual?):
            let x = prologue.map { device.applying($0, to: input) } ?? input
            return device.conv2dForward(input: x, weight: w, bias: b, residual: residual, epilogue: epilogue, geometry: g)
        }
    }

    /// The evaluation-mode forward of the channel concatenation of `parts` (each `[N, Cᵢ, H, W]`)
    /// with the batch-norm `prologue` before it: `forward(concat(parts), …, prologue:)` without
    /// writing the concatenation where the device can (`conv2dForward(parts:…)`).
    /// - Throws: a shape error naming this layer when the parts do not make one input.
    func forward(parts: [Tensor], device: any Device, epilogue: ConvolutionEpilogue, prologue: BatchNormPrologue) throws -> Tensor {
        precondition(!isTraining, "\(displayName): a convolution of parts runs in evaluation mode only")
        guard let first = parts.first, first.shape.rank == 4,
              parts.allSatisfy({ $0.shape.rank == 4 && $0.shape[0] == first.shape[0] && $0.shape[2] == first.shape[2] && $0.shape[3] == first.shape[3] })
        else { throw shapeError("expects parts [N, Cᵢ, H, W] of one batch and size, got \(parts.map(\.shape))") }
        let g = try geometry(for: [first.shape[0], parts.reduce(0) { $0 + $1.shape[1] }, first.shape[2], first.shape[3]])
        try device.checkConvolutionPlan(for: g, pass: .forward)
        savedInput = nil
        return device.conv2dForward(parts: parts, prologue: prologue, weight: weight.value, bias: bias?.value, epilogue: epilogue, geometry: g)
    }

    public override func modeDidChange() { foldedBatchNorm = nil }

    public override func backward(_ gradOutput: Tensor, device: any Device) throws -> Tensor {
        let g = try accumulateParameterGradients(gradOutput, device: device)
        try device.checkConvolutionPlan(for: g, pass: .backwardData)
        return device.conv2dBackwardData(gradOutput: gradOutput, weight: weight.value, geometry: g)
    }

    /// `backward` with `adding` added to the input gradient as it is written (a residual block's
    /// first convolution: its ∂x plus the skip path's gradient, `conv2dBackwardData(…, adding:)`).
    /// - Throws: a shape error naming this layer when `adding` does not have the input's shape.
    func backward(_ gradOutput: Tensor, device: any Device, adding: Tensor) throws -> Tensor {
        let g = try accumulateParameterGradients(gradOutput, device: device)
        guard adding.shape == g.inputShape else {
            throw shapeError("the gradient to add must have the input's shape \(g.inputShape), got \(adding.shape)")
        }
        try device.checkConvolutionPlan(for: g, pass: .backwardData)
        return device.conv2dBackwardData(gradOutput: gradOutput, weight: weight.value, geometry: g, adding: adding)
    }

    /// The weight and bias gradients only: no backward-data pass.
    public override func backwardWithoutInputGradient(_ gradOutput: Tensor, device: any Device) throws {
        _ = try accumulateParameterGradients(gradOutput, device: device)
    }

    /// Checks `gradOutput` against the saved input's geometry and accumulates the weight and bias
    /// gradients (backward-filter) unless both are frozen; returns the geometry.
    private func accumulateParameterGradients(_ gradOutput: Tensor, device: any Device) throws -> Conv2DGeometry {
        guard let input = savedInput else { throw missingForwardError() }
        let g = try geometry(for: input.shape)
        guard gradOutput.shape == g.outputShape else {
            throw shapeError("output gradient must be \(g.outputShape), got \(gradOutput.shape)")
        }
        if !weight.isFrozen || !(bias?.isFrozen ?? true) {
            try device.checkConvolutionPlan(for: g, pass: .backwardFilter)
            let gradients = device.conv2dBackwardFilter(gradOutput: gradOutput, input: input, geometry: g)
            weight.accumulateGradient(gradients.weight)
            bias?.accumulateGradient(gradients.bias)
        }
        return g
    }

    public override func flops(for shape: Shape) -> Double {
        (try? geometry(for: shape).flops) ?? 0
    }
}
