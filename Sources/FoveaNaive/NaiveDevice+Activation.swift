import FoveaCore

/// Activations element by element; any shape.
extension NaiveDevice {
    /// ReLU `y = x < 0 ? 0 : x`; leaky ReLU `y = x > 0 ? x : slope·x`. A NaN propagates.
    public func activationForward(_ activation: Activation, input: Tensor) -> Tensor {
        var output = Tensor(zeros: input.shape)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                for i in x.indices { y[i] = activation.value(at: x[i]) }
            }
        }
        return output
    }

    /// `∂x = ∂y · f′(x)`: ReLU `f′(x) = x > 0 ? 1 : 0` (0 at the kink), leaky ReLU
    /// `f′(x) = x > 0 ? 1 : slope`.
    public func activationBackward(_ activation: Activation, gradOutput: Tensor, input: Tensor) -> Tensor {
        var gradInput = Tensor(zeros: input.shape)
        input.withUnsafeBufferPointer { x in
            gradOutput.withUnsafeBufferPointer { dy in
                gradInput.withUnsafeMutableBufferPointer { dx in
                    for i in x.indices { dx[i] = dy[i] * activation.derivative(at: x[i]) }
                }
            }
        }
        return gradInput
    }
}

extension Activation {
    /// `f(x)`.
    func value(at x: Float) -> Float {
        switch self {
        case .relu: x < 0 ? 0 : x
        case .leakyReLU(let slope): x > 0 ? x : slope * x
        }
    }

    /// `f′(x)`, taking the left derivative at the kink x = 0.
    func derivative(at x: Float) -> Float {
        switch self {
        case .relu: x > 0 ? 1 : 0
        case .leakyReLU(let slope): x > 0 ? 1 : slope
        }
    }
}
