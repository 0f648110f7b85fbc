/// Applies an element-wise `Activation` (the base of `ReLU` and `LeakyReLU`).
public class ActivationLayer: Layer {
    public let activation: Activation
    private var savedInput: Tensor?
    /// Set when the training-mode batch norm before this layer ran it fused
    /// (`BatchNorm2D.forwardFused`) and applies its derivative in its own backward.
    private var derivativeAppliedByBatchNorm = false

    public init(_ activation: Activation) {
        self.activation = activation
        super.init()
    }

    public override func forward(_ input: Tensor, device: any Device) throws -> Tensor {
        savedInput = isTraining ? input : nil
        derivativeAppliedByBatchNorm = false
        return device.activationForward(activation, input: input)
    }

    /// Takes the place of `forward` when a convolution or a batch norm applied this ReLU in its
    /// own pass: `output` is the ReLU's output. For ReLU, `output > 0` exactly where `input > 0`,
    /// so the output serves backward as well as the input would (`∂x = ∂y · [y > 0]`). With
    /// `derivativeAppliedByBatchNorm` (a training-mode batch norm ran it), `backward` hands ∂y on
    /// unchanged, because the batch norm's backward multiplies by `[y > 0]` itself.
    func recordFusedForward(output: Tensor, derivativeAppliedByBatchNorm: Bool = false) {
        precondition(activation == .relu, "\(displayName): only ReLU can be fused into a convolution or a batch norm, not \(activation)")
        savedInput = isTraining ? output : nil
        self.derivativeAppliedByBatchNorm = isTraining && derivativeAppliedByBatchNorm
    }

    /// Takes the place of an evaluation-mode `forward` when the next convolution applied this
    /// activation to its input as it read it (a batch-norm prologue): nothing to keep.
    func recordFusedIntoNextLayer() {
        precondition(!isTraining, "\(displayName): an activation fused into the next layer runs in evaluation mode only")
        savedInput = nil
        derivativeAppliedByBatchNorm = false
    }

    public override func backward(_ gradOutput: Tensor, device: any Device) throws -> Tensor {
        guard let input = savedInput else { throw missingForwardError() }
        guard gradOutput.shape == input.shape else { throw shapeError("output gradient must be \(input.shape), got \(gradOutput.shape)") }
        guard !derivativeAppliedByBatchNorm else { return gradOutput }
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
