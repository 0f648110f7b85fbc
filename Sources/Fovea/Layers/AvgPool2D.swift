/// 2-D average pooling (PyTorch's `nn.AvgPool2d`, floor mode). Padding counts as zeros; the
/// divisor is the whole window when `countIncludesPadding` (PyTorch's default), else the number
/// of in-image positions. Stride defaults to the kernel size.
public final class AvgPool2D: Layer {
    public let options: Pool2DOptions
    private var savedGeometry: Pool2DGeometry?

    /// - Throws: `.invalidArgument` naming the argument and its valid range (`Pool2DOptions.validate`).
    public init(kernelSize: Size2D, stride: Size2D? = nil, padding: Size2D = 0, countIncludesPadding: Bool = true) throws {
        options = Pool2DOptions(kernel: kernelSize, stride: stride, padding: padding, countIncludesPadding: countIncludesPadding)
        try options.validate(name: "AvgPool2D")
        super.init()
    }

    public override func outputShape(for shape: Shape) throws -> Shape {
        try Pool2DGeometry(inputShape: shape, options: options, name: displayName).outputShape
    }

    public override func forward(_ input: Tensor, device: any Device) throws -> Tensor {
        let g = try Pool2DGeometry(inputShape: input.shape, options: options, name: displayName)
        savedGeometry = g
        return device.avgPool2dForward(input: input, geometry: g)
    }

    /// `forward` of the input normalised and activated by `prologue` (an evaluation-mode batch norm
    /// and ReLU fused into the pooling: `PoolingOperations.avgPool2dForward(input:prologue:geometry:)`).
    func forward(_ input: Tensor, prologue: BatchNormPrologue, device: any Device) throws -> Tensor {
        let g = try Pool2DGeometry(inputShape: input.shape, options: options, name: displayName)
        savedGeometry = g
        return device.avgPool2dForward(input: input, prologue: prologue, geometry: g)
    }

    public override func backward(_ gradOutput: Tensor, device: any Device) throws -> Tensor {
        guard let g = savedGeometry else { throw missingForwardError() }
        guard gradOutput.shape == g.outputShape else {
            throw shapeError("output gradient must be \(g.outputShape), got \(gradOutput.shape)")
        }
        return device.avgPool2dBackward(gradOutput: gradOutput, geometry: g)
    }

    public override func flops(for shape: Shape) -> Double {
        Double((try? outputShape(for: shape).count) ?? 0) * Double(options.kernel.height * options.kernel.width)
    }
}

/// Adaptive average pooling to a fixed output size (PyTorch's `nn.AdaptiveAvgPool2d`); 1×1 is
/// global average pooling. Output row p averages input rows `⌊p·H/P⌋ ..< ⌈(p+1)·H/P⌉`.
public final class AdaptiveAvgPool2D: Layer {
    public let outputSize: Size2D
    private var savedShape: Shape?

    /// - Throws: `.invalidArgument` when an output size is < 1.
    public init(outputSize: Size2D) throws {
        try ArgumentCheck("AdaptiveAvgPool2D").atLeast(1, outputSize, "outputSize")
        self.outputSize = outputSize
        super.init()
    }

    public override func outputShape(for shape: Shape) throws -> Shape {
        guard shape.rank == 4 else { throw shapeError("expects a 4-D input [N, C, H, W], got \(shape)") }
        guard shape[2] >= 1, shape[3] >= 1 else { throw shapeError("input \(shape) has an empty plane") }
        return [shape[0], shape[1], outputSize.height, outputSize.width]
    }

    public override func forward(_ input: Tensor, device: any Device) throws -> Tensor {
        _ = try outputShape(for: input.shape)
        savedShape = input.shape
        return device.adaptiveAvgPool2dForward(input: input, outputSize: outputSize)
    }

    public override func backward(_ gradOutput: Tensor, device: any Device) throws -> Tensor {
        guard let shape = savedShape else { throw missingForwardError() }
        return device.adaptiveAvgPool2dBackward(gradOutput: gradOutput, inputShape: shape)
    }

    public override func flops(for shape: Shape) -> Double { Double(shape.count) }
}
