/// An evaluation-mode batch norm and activation applied to a convolution's input as the
/// convolution reads it (DenseNet's pre-activation `BN → ReLU → conv`): per channel c,
///
///     x̂[n, c, h, w] = activation(γ_c·(x[n, c, h, w] − μ_c)/√(σ²_c + ε) + β_c),
///
/// the values `batchNormInference(…, activation:)` computes on the same device, so that
/// `conv2dForward(input:prologue:…)` equals that operation followed by the convolution.
/// `scale` (γ), `shift` (β), `runningMean` (μ) and `runningVariance` (σ²) are `[C]`.
public struct BatchNormPrologue: Sendable {
    public var scale: Tensor
    public var shift: Tensor
    public var runningMean: Tensor
    public var runningVariance: Tensor
    public var epsilon: Float
    /// Applied after the normalisation, or nil for none.
    public var activation: Activation?

    public init(scale: Tensor, shift: Tensor, runningMean: Tensor, runningVariance: Tensor, epsilon: Float, activation: Activation?) {
        self.scale = scale
        self.shift = shift
        self.runningMean = runningMean
        self.runningVariance = runningVariance
        self.epsilon = epsilon
        self.activation = activation
    }
}

extension NormalizationOperations {
    /// `input` normalised and activated as `prologue` says, by this device's batch norm.
    public func applying(_ prologue: BatchNormPrologue, to input: Tensor) -> Tensor {
        let p = prologue
        guard let activation = p.activation else {
            return batchNormInference(input: input, scale: p.scale, shift: p.shift, runningMean: p.runningMean,
                                      runningVariance: p.runningVariance, epsilon: p.epsilon)
        }
        return batchNormInference(input: input, scale: p.scale, shift: p.shift, runningMean: p.runningMean,
                                  runningVariance: p.runningVariance, epsilon: p.epsilon, activation: activation)
    }
}
