/// Fully connected layer (PyTorch's `nn.Linear`): `y = x·Wᵀ + b`, input `[N, I]` → `[N, O]`,
/// weight `[O, I]`, bias `[O]`. Default initialisation uniform in `±1/√I` (PyTorch's).
public final class Linear: Layer {
    public let inputFeatures: Int
    public let outputFeatures: Int
    public let weight: Parameter
    public let bias: Parameter?
    private var savedInput: Tensor?

    /// - Throws: `.invalidArgument` when a size is < 1.
    public init(_ inputFeatures: Int, _ outputFeatures: Int, bias: Bool = true, seed: UInt64 = 0) throws {
        let check = ArgumentCheck("Linear")
        try check.atLeast(1, inputFeatures, "inputFeatures")
        try check.atLeast(1, outputFeatures, "outputFeatures")
        self.inputFeatures = inputFeatures
        self.outputFeatures = outputFeatures
        var generator = SeededGenerator(seed: seed)
        weight = Parameter(Initializer.pytorchDefault([outputFeatures, inputFeatures], fanIn: inputFeatures, using: &generator))
        self.bias = bias ? Parameter(Initializer.pytorchDefault([outputFeatures], fanIn: inputFeatures, using: &generator)) : nil
        super.init()
    }

    public override var parameters: [(name: String, parameter: Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public override func outputShape(for shape: Shape) throws -> Shape {
        guard shape.rank == 2 else {
            throw shapeError("expects a 2-D input [N, \(inputFeatures)], got \(shape); put a Flatten before it")
        }
        guard shape[1] == inputFeatures else {
            throw shapeError("expects \(inputFeatures) input features, got \(shape[1]) (input \(shape))")
        }
        return [shape[0], outputFeatures]
    }

    public override func forward(_ input: Tensor, device: any Device) throws -> Tensor {
        _ = try outputShape(for: input.shape)
        savedInput = isTraining ? input : nil
        return device.linearForward(input: input, weight: weight.value, bias: bias?.value)
    }

    public override func backward(_ gradOutput: Tensor, device: any Device) throws -> Tensor {
        try backward(gradOutput, device: device, needsInputGradient: true)!
    }

    /// The weight and bias gradients only: `∂x` is not computed.
    public override func backwardWithoutInputGradient(_ gradOutput: Tensor, device: any Device) throws {
        _ = try backward(gradOutput, device: device, needsInputGradient: false)
    }

    private func backward(_ gradOutput: Tensor, device: any Device, needsInputGradient: Bool) throws -> Tensor? {
        guard let input = savedInput else { throw missingForwardError() }
        guard gradOutput.shape == [input.shape[0], outputFeatures] else {
            throw shapeError("output gradient must be \(Shape([input.shape[0], outputFeatures])), got \(gradOutput.shape)")
        }
        let gradients = device.linearBackward(gradOutput: gradOutput, input: input, weight: weight.value, needsInputGradient: needsInputGradient)
        weight.accumulateGradient(gradients.weight)
        bias?.accumulateGradient(gradients.bias)
        return gradients.input
    }

    public override func flops(for shape: Shape) -> Double {
        2 * Double(shape.dimensions.first ?? 1) * Double(inputFeatures) * Double(outputFeatures)
    }
}
