/// An element-wise non-linearity.
public enum Activation: Hashable, Sendable, CustomStringConvertible {
    /// `max(x, 0)`; its derivative is taken as 0 at x = 0 (as PyTorch).
    case relu
    /// `x` for `x > 0`, `negativeSlope · x` otherwise; derivative `negativeSlope` at x ≤ 0.
    case leakyReLU(negativeSlope: Float)

    public var description: String {
        switch self {
        case .relu: "ReLU"
        case .leakyReLU(let slope): "LeakyReLU(\(slope))"
        }
    }
}

/// Element-wise activations, forward and backward.
public protocol ActivationOperations: DeviceIdentity {
    /// `y = f(x)` element-wise; same shape.
    func activationForward(_ activation: Activation, input: Tensor) -> Tensor

    /// `∂L/∂x = ∂L/∂y · f′(x)` element-wise, from the forward input `x`.
    func activationBackward(_ activation: Activation, gradOutput: Tensor, input: Tensor) -> Tensor
}

extension ActivationOperations {
    public func activationForward(_ activation: Activation, input: Tensor) -> Tensor {
        delegate("activationForward").activationForward(activation, input: input)
    }

    public func activationBackward(_ activation: Activation, gradOutput: Tensor, input: Tensor) -> Tensor {
        delegate("activationBackward").activationBackward(activation, gradOutput: gradOutput, input: input)
    }
}
