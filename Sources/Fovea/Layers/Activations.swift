/// Applies an element-wise `Activation` (the base of `ReLU` and `LeakyReLU`).
public class ActivationLayer: Layer {
    public let activation: Activation
    private var savedInput: Tensor?

    public init(_ activation: Activation) {
        self.activation = activation
        super.init()
    }

    public override func forward(_ input: Tensor, device: any Device) throws -> Tensor {
        savedInput = isTraining ? input : nil
        return device.activationForward(activation, input: input)
    }

    public override func backward(_ gradOutput: Tensor, device: any Device) throws -> Tensor {
        guard let input = savedInput else { throw missingForwardError() }
        guard gradOutput.shape == input.shape else { throw shapeError("output gradient must be \(input.shape), got \(gradOutput.shape)") }
        return device.activationBackward(activation, gradOutput: gradOutput, input: input)
    }
}

/// `max(x, 0)` element-wise (PyTorch's `nn.ReLU`).
public final class ReLU: ActivationLayer {
    public init() { super.init(.relu) }
}

/// `x` for x > 0, `negativeSlope·x` otherwise (PyTorch's `nn.LeakyReLU`, default slope 0.01).
public final class LeakyReLU: ActivationLayer {
    public init(negativeSlope: Float = 0.01) { super.init(.leakyReLU(negativeSlope: negativeSlope)) }
}
