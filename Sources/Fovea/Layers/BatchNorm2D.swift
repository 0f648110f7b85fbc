/// Batch normalisation over channels (PyTorch's `nn.BatchNorm2d`).
///
/// Training mode: `y = γ·(x − μ_B)/√(σ²_B + ε) + β` with the batch's per-channel mean and biased
/// variance; the running estimates are updated as
/// `running = (1 − momentum)·running + momentum·batch`, the variance with the unbiased
/// `σ²_B·M/(M−1)` (M = N·H·W), and `num_batches_tracked` counts the updates.
/// Evaluation mode: the running estimates replace the batch statistics.
///
/// Parameters `weight` (γ, ones) and `bias` (β, zeros); buffers `running_mean` (zeros),
/// `running_var` (ones), `num_batches_tracked` — PyTorch's names.
public final class BatchNorm2D: Layer {
    public let channels: Int
    public let epsilon: Float
    public let momentum: Float
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: Buffer
    public let runningVariance: Buffer
    public let batchesTracked: Buffer
    /// What backward needs from the last training-mode forward; `activation` when it ran fused
    /// with the activation after it (its output is the derivative's mask).
    var saved: (input: Tensor, statistics: BatchNormStatistics, activation: (Activation, output: Tensor)?)?
    /// After `forwardTraining(_:adding:…)`: its activation and output, for `backwardWithResidual`.
    private var residualOutput: (activation: Activation, output: Tensor)?
    /// Synchronized batch norm: in training mode the mean and variance are those of the whole
    /// batch over every replica of `replicaGroup` (PyTorch's `SyncBatchNorm`), so N replicas with
    /// B/N images each compute what one model computes with B. Nil (the default, as PyTorch DDP):
    /// each replica normalises with its own images' statistics. Set it on a whole model with
    /// `Layer.synchronizeBatchNorm(over:)`.
    public var replicaGroup: (any ReplicaGroup)?
    /// The number of values per channel over all replicas in the last synchronized forward.
    var synchronizedCount: Double = 0

    /// - Throws: `.invalidArgument` when `channels` < 1, `epsilon` is not finite and > 0, or
    ///   `momentum` is not in [0, 1].
    public init(_ channels: Int, epsilon: Float = 1e-5, momentum: Float = 0.1) throws {
        let check = ArgumentCheck("BatchNorm2D")
        try check.atLeast(1, channels, "channels")
        try check.positive(epsilon, "epsilon")
        try check.fraction(momentum, "momentum", includingOne: true)
        self.channels = channels
        self.epsilon = epsilon
        self.momentum = momentum
        weight = Parameter(Tensor(repeating: 1, shape: [channels]))
        bias = Parameter(Tensor(zeros: [channels]))
        runningMean = Buffer(Tensor(zeros: [channels]))
        runningVariance = Buffer(Tensor(repeating: 1, shape: [channels]))
        batchesTracked = Buffer(Tensor(zeros: []))
        super.init()
    }

    public override var parameters: [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias)] }

    public override var buffers: [(name: String, buffer: Buffer)] {
        [("running_mean", runningMean), ("running_var", runningVariance), ("num_batches_tracked", batchesTracked)]
    }

    public override func outputShape(for shape: Shape) throws -> Shape {
        guard shape.rank == 4 else { throw shapeError("expects a 4-D input [N, \(channels), H, W], got \(shape)") }
        guard shape[1] == channels else { throw shapeError("expects \(channels) channels, got \(shape[1]) (input \(shape))") }
        return shape
    }

    public override func forward(_ input: Tensor, device: any Device) throws -> Tensor {
        try forward(input, device: device, activation: nil)
    }

    /// `forward` with `activation` fused into the same pass (BN → ReLU), in either mode; the caller
    /// runs it instead of this layer's and the activation's `forward`. In training mode this
    /// layer's `backward` then applies the activation's derivative too, so the activation layer's
    /// backward must hand its output gradient on unchanged (`ActivationLayer.recordFusedForward`).
    func forwardFused(_ input: Tensor, device: any Device, activation: Activation) throws -> Tensor {
        try forward(input, device: device, activation: Optional(activation))
    }

    /// Whether `forwardTraining(_:adding:device:activation:)` can take this layer's forward: in
    /// training mode, with the batch's own statistics (not synchronized over replicas).
    var addsResidualInTraining: Bool { isTraining && replicaGroup == nil }

    /// Training mode (`addsResidualInTraining`): this layer's forward, then `residual` added and
    /// `activation` applied in the same pass, `y = f(BN(x) + r)` (a residual block's last batch
    /// norm with its skip connection and ReLU); the caller runs it instead of this layer's forward,
    /// the add and the activation's forward. This layer's `backward` stays its own: the activation
    /// layer keeps `y` and applies f′ for both the branch and the skip path.
    /// - Throws: a shape error naming this layer when `input` does not have its channels, or when
    ///   `residual`'s shape is not `input`'s.
    func forwardTraining(_ input: Tensor, adding residual: Tensor, device: any Device, activation: Activation) throws -> Tensor {
        precondition(addsResidualInTraining, "\(displayName): the residual is fused in unsynchronized training mode only")
        _ = try outputShape(for: input.shape)
        residualOutput = nil
        guard residual.shape == input.shape else {
            throw shapeError("the residual must have the input's shape \(input.shape), got \(residual.shape)")
        }
        let count = input.count / channels
        guard count > 1 else {
            throw shapeError("training mode needs more than one value per channel to compute a variance, got input \(input.shape)")
        }
        let result = device.batchNormTraining(input: input, scale: weight.value, shift: bias.value, epsilon: epsilon, activation: activation,
                                              residual: residual)
        updateRunningStatistics(result.statistics, count: count)
        saved = (input, result.statistics, nil)
        residualOutput = (activation, result.output)
        return result.output
    }

    /// Whether the last forward was `forwardTraining(_:adding:…)`, so `backwardWithResidual` can run.
    var addedResidual: Bool { residualOutput != nil }

    /// Backward after `forwardTraining(_:adding:…)`, from ∂y of its output: the activation's
    /// derivative applied (read from that output), which gives the residual's gradient, then this
    /// layer's backward with it, in one call (`batchNormResidualBackward`). Accumulates ∂γ and ∂β
    /// and returns ∂x and ∂r. (This layer's `backward` instead expects the derivative applied.)
    func backwardWithResidual(_ gradOutput: Tensor, device: any Device) throws -> (input: Tensor, residual: Tensor) {
        guard let saved, let fused = residualOutput else { throw missingForwardError() }
        guard gradOutput.shape == saved.input.shape else {
            throw shapeError("output gradient must be \(saved.input.shape), got \(gradOutput.shape)")
        }
        let gradients = device.batchNormResidualBackward(gradOutput: gradOutput, input: saved.input, scale: weight.value,
                                                         statistics: saved.statistics, activation: fused.activation, output: fused.output)
        weight.accumulateGradient(gradients.normalization.scale)
        bias.accumulateGradient(gradients.normalization.shift)
        return (gradients.normalization.input, gradients.residual)
    }

    private func forward(_ input: Tensor, device: any Device, activation: Activation?) throws -> Tensor {
        _ = try outputShape(for: input.shape)
        residualOutput = nil
        guard isTraining else {
            saved = nil
            let (mean, variance) = (runningMean.value, runningVariance.value)
            guard let activation else {
                return device.batchNormInference(input: input, scale: weight.value, shift: bias.value,
                                                 runningMean: mean, runningVariance: variance, epsilon: epsilon)
            }
            return device.batchNormInference(input: input, scale: weight.value, shift: bias.value,
                                             runningMean: mean, runningVariance: variance, epsilon: epsilon, activation: activation)
        }
        if let replicaGroup { return try synchronizedForward(input, device: device, activation: activation, group: replicaGroup) }
        let count = input.count / channels
        guard count > 1 else {
            throw shapeError("training mode needs more than one value per channel to compute a variance, got input \(input.shape)")
        }
        let result = if let activation {
            device.batchNormTraining(input: input, scale: weight.value, shift: bias.value, epsilon: epsilon, activation: activation)
        } else {
            device.batchNormTraining(input: input, scale: weight.value, shift: bias.value, epsilon: epsilon)
        }
        updateRunningStatistics(result.statistics, count: count)
        saved = (input, result.statistics, activation.map { ($0, result.output) })
        return result.output
    }

    /// This layer, in evaluation mode, as the prologue of the convolution that reads its output
    /// (through `activation`): the caller runs that convolution instead of this layer's forward.
    /// - Throws: a shape error naming this layer when `input` does not have its channels.
    func prologue(for input: Tensor, activation: Activation) throws -> BatchNormPrologue {
        try prologue(forShape: input.shape, activation: activation)
    }

    /// `prologue(for:activation:)` of an input of `shape` (a dense block's features kept in parts).
    func prologue(forShape shape: Shape, activation: Activation) throws -> BatchNormPrologue {
        precondition(!isTraining, "\(displayName): a fused batch norm runs in evaluation mode only")
        _ = try outputShape(for: shape)
        saved = nil
        residualOutput = nil
        return BatchNormPrologue(scale: weight.value, shift: bias.value, runningMean: runningMean.value,
                                 runningVariance: runningVariance.value, epsilon: epsilon, activation: activation)
    }

    /// Takes the place of an evaluation-mode `forward` when the preceding convolution folded this
    /// layer into its weights (`Conv2D.foldedParameters`): nothing to keep for backward.
    func recordFoldedForward() {
        saved = nil
        residualOutput = nil
    }

    func updateRunningStatistics(_ statistics: BatchNormStatistics, count: Int) {
        let unbiased = Float(count) / Float(count - 1)
        let m = momentum
        runningMean.value.withUnsafeMutableBufferPointer { mean in
            statistics.mean.withUnsafeBufferPointer { batch in
                for c in mean.indices { mean[c] = (1 - m) * mean[c] + m * batch[c] }
            }
        }
        runningVariance.value.withUnsafeMutableBufferPointer { variance in
            statistics.variance.withUnsafeBufferPointer { batch in
                for c in variance.indices { variance[c] = (1 - m) * variance[c] + m * batch[c] * unbiased }
            }
        }
        batchesTracked.value[flat: 0] += 1
    }

    public override func backward(_ gradOutput: Tensor, device: any Device) throws -> Tensor {
        guard let saved else { throw missingForwardError() }
        guard gradOutput.shape == saved.input.shape else {
            throw shapeError("output gradient must be \(saved.input.shape), got \(gradOutput.shape)")
        }
        if let replicaGroup { return try synchronizedBackward(gradOutput, device: device, group: replicaGroup) }
        let gradients = if let fused = saved.activation {
            device.batchNormBackward(gradOutput: gradOutput, input: saved.input, scale: weight.value, statistics: saved.statistics,
                                     activation: fused.0, output: fused.output)
        } else {
            device.batchNormBackward(gradOutput: gradOutput, input: saved.input, scale: weight.value, statistics: saved.statistics)
        }
        weight.accumulateGradient(gradients.scale)
        bias.accumulateGradient(gradients.shift)
        return gradients.input
    }

    public override func flops(for shape: Shape) -> Double { 4 * Double(shape.count) }
}
