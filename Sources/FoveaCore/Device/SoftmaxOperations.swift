/// Softmax and log-softmax over the last axis of a `[N, C]` tensor.
public protocol SoftmaxOperations: DeviceIdentity {
    /// `softmax(z)_i = exp(z_i − max z) / Σ_j exp(z_j − max z)` per row; with `log`,
    /// `log_softmax(z)_i = z_i − max z − log Σ_j exp(z_j − max z)`. Stable for large logits.
    func softmaxForward(logits: Tensor, log: Bool) -> Tensor

    /// Backward from the forward `output`: softmax `∂z = y ⊙ (∂y − Σ ∂y ⊙ y)`;
    /// log-softmax `∂z = ∂y − exp(y) · Σ ∂y`, per row.
    func softmaxBackward(gradOutput: Tensor, output: Tensor, log: Bool) -> Tensor
}

extension SoftmaxOperations {
    public func softmaxForward(logits: Tensor, log: Bool) -> Tensor {
        delegate("softmaxForward").softmaxForward(logits: logits, log: log)
    }

    public func softmaxBackward(gradOutput: Tensor, output: Tensor, log: Bool) -> Tensor {
        delegate("softmaxBackward").softmaxBackward(gradOutput: gradOutput, output: output, log: log)
    }
}
