/// Batch normalisation and local response normalisation, forward and backward.
public protocol NormalizationOperations: DeviceIdentity {
    /// Batch normalisation with the batch's own statistics (training mode). For each channel c,
    /// over all n, h, w: `μ = mean(x)`, `σ² = mean((x − μ)²)` (biased), and
    /// `y = γ·(x − μ)/√(σ² + ε) + β`. Input `[N, C, H, W]`, `scale` γ and `shift` β `[C]`.
    /// Returns the output and the statistics backward needs (and the layer uses to update its
    /// running estimates).
    func batchNormTraining(input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float) -> BatchNormTrainingResult

    /// `batchNormTraining` and then `activation` on its output, fused into one pass (training-mode
    /// BN → ReLU, as in ResNet and DenseNet): `y = f(γ·(x − μ)/√(σ² + ε) + β)`, element by element
    /// the same as the two operations one after the other (which is the default), with the
    /// statistics of `batchNormTraining`.
    func batchNormTraining(input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float, activation: Activation) -> BatchNormTrainingResult

    /// `batchNormTraining`, then `residual` added, then `activation`, fused into one pass (a
    /// residual block's last batch norm, its skip connection and its ReLU in training mode):
    /// `y = f((γ·(x − μ)/√(σ² + ε) + β) + r)`, element by element the same as the three
    /// operations one after the other (which is the default), with the statistics of
    /// `batchNormTraining`. `residual` has the input's shape.
    func batchNormTraining(input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float, activation: Activation,
                           residual: Tensor) -> BatchNormTrainingResult

    /// Batch normalisation with fixed statistics (evaluation mode):
    /// `y = γ·(x − runningMean)/√(runningVariance + ε) + β`.
    func batchNormInference(input: Tensor, scale: Tensor, shift: Tensor, runningMean: Tensor, runningVariance: Tensor, epsilon: Float) -> Tensor

    /// `batchNormInference` and then `activation`, fused into one pass (evaluation-mode BN → ReLU,
    /// as in DenseNet): `y = f(γ·(x − runningMean)/√(runningVariance + ε) + β)`, element by element
    /// the same as the two operations one after the other (which is the default).
    func batchNormInference(input: Tensor, scale: Tensor, shift: Tensor, runningMean: Tensor, runningVariance: Tensor, epsilon: Float,
                            activation: Activation) -> Tensor

    /// Backward of `batchNormTraining`, with `x̂ = (x − μ)·invStd` and M = N·H·W values per channel:
    /// `∂β = Σ ∂y`, `∂γ = Σ ∂y·x̂`, `∂x = γ·invStd/M · (M·∂y − ∂β − x̂·∂γ)`.
    func batchNormBackward(gradOutput: Tensor, input: Tensor, scale: Tensor, statistics: BatchNormStatistics) -> BatchNormGradients

    /// Backward of `batchNormTraining(…, activation:)`, from that call's `output` f(BN(x)):
    /// `activationBackward(activation, gradOutput: ∂y, input: output)` and then `batchNormBackward`
    /// with that gradient, fused (the default runs the two). The derivative is read from the
    /// output, as a ReLU layer that keeps its output does: `output > 0 ? 1 : negativeSlope`, which
    /// is f′ of the batch norm's output for ReLU and for leaky ReLU with a slope ≥ 0.
    func batchNormBackward(gradOutput: Tensor, input: Tensor, scale: Tensor, statistics: BatchNormStatistics,
                           activation: Activation, output: Tensor) -> BatchNormGradients

    /// Backward of `batchNormTraining(…, activation:, residual:)`, from that call's `output`
    /// y = f(BN(x) + r): `g = activationBackward(activation, gradOutput: ∂y, input: output)`,
    /// which is also ∂r, and `batchNormBackward` with g. Returns both (the default runs the two),
    /// so that the residual's path needs no pass of its own for f′.
    func batchNormResidualBackward(gradOutput: Tensor, input: Tensor, scale: Tensor, statistics: BatchNormStatistics,
                                   activation: Activation, output: Tensor) -> BatchNormResidualGradients

    /// Local response normalisation across channels (AlexNet; PyTorch's `LocalResponseNorm`):
    /// `y[c] = x[c] / (k + α/size · Σ_{c′} x[c′]²)^β`, the sum over channels
    /// `c − ⌊size/2⌋ … c + ⌊(size−1)/2⌋` that exist.
    func localResponseNormForward(input: Tensor, options: LocalResponseNormOptions) -> Tensor

    /// Backward of `localResponseNormForward`, with `s[c] = k + α/size·Σ x²`:
    /// `∂x[j] = ∂y[j]·s[j]^(−β) − (2αβ/size)·x[j]·Σ_{c: j in window(c)} ∂y[c]·x[c]·s[c]^(−β−1)`.
    func localResponseNormBackward(gradOutput: Tensor, input: Tensor, options: LocalResponseNormOptions) -> Tensor
}

/// Per-channel statistics of one training-mode batch-norm call, each `[C]`.
public struct BatchNormStatistics: Sendable {
    /// The batch mean μ.
    public var mean: Tensor
    /// The biased batch variance σ² (divided by M = N·H·W).
    public var variance: Tensor
    /// `1/√(σ² + ε)`.
    public var inverseStandardDeviation: Tensor

    public init(mean: Tensor, variance: Tensor, inverseStandardDeviation: Tensor) {
        self.mean = mean
        self.variance = variance
        self.inverseStandardDeviation = inverseStandardDeviation
    }
}

public struct BatchNormTrainingResult: Sendable {
    public var output: Tensor
    public var statistics: BatchNormStatistics

    public init(output: Tensor, statistics: BatchNormStatistics) {
        self.output = output
        self.statistics = statistics
    }
}

/// What `batchNormResidualBackward` returns: the batch norm's gradients and the residual's.
public struct BatchNormResidualGradients: Sendable {
    /// ∂x, ∂γ and ∂β of the batch norm.
    public var normalization: BatchNormGradients
    /// ∂r: the output gradient times the activation's derivative.
    public var residual: Tensor

    public init(normalization: BatchNormGradients, residual: Tensor) {
        self.normalization = normalization
        self.residual = residual
    }
}

public struct BatchNormGradients: Sendable {
    public var input: Tensor
    public var scale: Tensor
    public var shift: Tensor

    public init(input: Tensor, scale: Tensor, shift: Tensor) {
        self.input = input
        self.scale = scale
        self.shift = shift
    }
}

/// Parameters of local response normalisation; the defaults are PyTorch's (AlexNet uses size 5,
/// α 1e-4, β 0.75, k 2 in the paper; torchvision's AlexNet has no LRN).
public struct LocalResponseNormOptions: Hashable, Sendable {
    public var size: Int
    public var alpha: Float
    public var beta: Float
    public var k: Float

    public init(size: Int, alpha: Float = 1e-4, beta: Float = 0.75, k: Float = 1) {
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k
    }
}

extension NormalizationOperations where Self: ActivationOperations {
    /// The unfused composition: the device's own batch norm, then its own activation.
    public func batchNormInference(input: Tensor, scale: Tensor, shift: Tensor, runningMean: Tensor, runningVariance: Tensor, epsilon: Float,
                                   activation: Activation) -> Tensor {
        let normalized = batchNormInference(input: input, scale: scale, shift: shift, runningMean: runningMean,
                                            runningVariance: runningVariance, epsilon: epsilon)
        return activationForward(activation, input: normalized)
    }

    /// The unfused composition: the device's own batch norm in training mode, then its activation.
    public func batchNormTraining(input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float, activation: Activation) -> BatchNormTrainingResult {
        var result = batchNormTraining(input: input, scale: scale, shift: shift, epsilon: epsilon)
        result.output = activationForward(activation, input: result.output)
        return result
    }

    /// The unfused composition: the device's own activation backward, then its batch-norm backward.
    public func batchNormResidualBackward(gradOutput: Tensor, input: Tensor, scale: Tensor, statistics: BatchNormStatistics,
                                          activation: Activation, output: Tensor) -> BatchNormResidualGradients {
        let gradient = activationBackward(activation, gradOutput: gradOutput, input: output)
        return BatchNormResidualGradients(
            normalization: batchNormBackward(gradOutput: gradient, input: input, scale: scale, statistics: statistics), residual: gradient)
    }

    /// The unfused composition: the device's own activation backward, then its batch-norm backward.
    public func batchNormBackward(gradOutput: Tensor, input: Tensor, scale: Tensor, statistics: BatchNormStatistics,
                                  activation: Activation, output: Tensor) -> BatchNormGradients {
        let gradient = activationBackward(activation, gradOutput: gradOutput, input: output)
        return batchNormBackward(gradOutput: gradient, input: input, scale: scale, statistics: statistics)
    }
}

extension NormalizationOperations where Self: ActivationOperations & ElementwiseOperations {
    /// The unfused composition: the device's own batch norm in training mode, its add, then its activation.
    public func batchNormTraining(input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float, activation: Activation,
                                  residual: Tensor) -> BatchNormTrainingResult {
        var result = batchNormTraining(input: input, scale: scale, shift: shift, epsilon: epsilon)
        result.output = activationForward(activation, input: add(result.output, residual))
        return result
    }
}

extension NormalizationOperations {
    public func batchNormTraining(input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float) -> BatchNormTrainingResult {
        delegate("batchNormTraining").batchNormTraining(input: input, scale: scale, shift: shift, epsilon: epsilon)
    }

    public func batchNormInference(input: Tensor, scale: Tensor, shift: Tensor, runningMean: Tensor, runningVariance: Tensor, epsilon: Float) -> Tensor {
        delegate("batchNormInference").batchNormInference(
            input: input, scale: scale, shift: shift, runningMean: runningMean, runningVariance: runningVariance, epsilon: epsilon)
    }

    public func batchNormBackward(gradOutput: Tensor, input: Tensor, scale: Tensor, statistics: BatchNormStatistics) -> BatchNormGradients {
        delegate("batchNormBackward").batchNormBackward(gradOutput: gradOutput, input: input, scale: scale, statistics: statistics)
    }

    public func localResponseNormForward(input: Tensor, options: LocalResponseNormOptions) -> Tensor {
        delegate("localResponseNormForward").localResponseNormForward(input: input, options: options)
    }

    public func localResponseNormBackward(gradOutput: Tensor, input: Tensor, options: LocalResponseNormOptions) -> Tensor {
        delegate("localResponseNormBackward").localResponseNormBackward(gradOutput: gradOutput, input: input, options: options)
    }
}
