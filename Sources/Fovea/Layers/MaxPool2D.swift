/// 2-D max pooling (PyTorch's `nn.MaxPool2d`, floor mode): each output is the maximum of its
/// window; padding counts as −∞. `[N, C, H, W]` → `[N, C, P, Q]` with the convolution
/// arithmetic. Stride defaults to the kernel size.
public final class MaxPool2D: Layer {
    public let options: Pool2DOptions
    private var saved: (argmax: [Int32], geometry: Pool2DGeometry)?

    /// - Throws: `.invalidArgument` naming the argument and its valid range (`Pool2DOptions.validate`).
    public init(kernelSize: Size2D, stride: Size2D? = nil, padding: Size2D = 0, dilation: Size2D = 1) throws {
        options = Pool2DOptions(kernel: kernelSize, stride: stride, padding: padding, dilation: dilation)
        try options.validate(name: "MaxPool2D")
        super.init()
    }

    public override func outputShape(for shape: Shape) throws -> Shape {
        try Pool2DGeometry(inputShape: shape, options: options, name: displayName).outputShape
    }

    public override func forward(_ input: Tensor, device: any Device) throws -> Tensor {
        let g = try Pool2DGeometry(inputShape: input.shape, options: options, name: displayName)
        guard isTraining else {
            // Nothing will ask for the argmax: the device may skip recording it.
            saved = nil
            return device.maxPool2dForwardValues(input: input, geometry: g)
        }
        let result = device.maxPool2dForward(input: input, geometry: g)
        saved = (result.argmax, g)
        return result.output
    }

    public override func backward(_ gradOutput: Tensor, device: any Device) throws -> Tensor {
        guard let saved else { throw missingForwardError() }
        guard gradOutput.shape == saved.geometry.outputShape else {
            throw shapeError("output gradient must be \(saved.geometry.outputShape), got \(gradOutput.shape)")
        }
        return device.maxPool2dBackward(gradOutput: gradOutput, argmax: saved.argmax, geometry: saved.geometry)
    }

    public override func flops(for shape: Shape) -> Double {
        Double((try? outputShape(for: shape).count) ?? 0) * Double(options.kernel.height * options.kernel.width)
    }
}
