/// Running a layer inside its own `OperationScope`, so that devices can attribute the operations
/// it issues to it (the checking device's report is keyed by these names) and a problem a device
/// noticed inside one of them is thrown by this layer.
///
/// Composites (`Sequential`, `ResidualBlock`, `DenseBlock`) run their children through these, and
/// `Trainer` runs the model through them, so every leaf layer is scoped without any layer doing
/// anything. Scopes nest and the innermost wins: a residual block's addition is attributed to the
/// block, its convolutions to themselves.
extension Layer {
    /// `forward` inside this layer's scope (named `displayName`).
    public func scopedForward(_ input: Tensor, device: any Device) throws -> Tensor {
        try OperationScope.run(displayName, device: device) { try forward(input, device: device) }
    }

    /// `backwardWithoutInputGradient` inside this layer's scope (named `displayName`).
    public func scopedBackwardWithoutInputGradient(_ gradOutput: Tensor, device: any Device) throws {
        try OperationScope.run(displayName, device: device) { try backwardWithoutInputGradient(gradOutput, device: device) }
    }

    /// `backward` inside this layer's scope (named `displayName`).
    public func scopedBackward(_ gradOutput: Tensor, device: any Device) throws -> Tensor {
        try OperationScope.run(displayName, device: device) { try backward(gradOutput, device: device) }
    }
}
