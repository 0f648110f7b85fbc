import FoveaCore

/// One device operation as `ProfilingDevice` timed it.
public struct OperationRecord: Sendable {
    /// The innermost `OperationScope` when it ran: the leaf layer's qualified name (e.g.
    /// `layer1.0.conv1`), `loss`, or `(outside layers)`.
    public var layer: String
    /// The `Device` method, e.g. `conv2dForward+ReLU`, `batchNormBackward`.
    public var operation: String
    public var kind: OperationKind
    /// The operand shapes, e.g. `8×64×56×56 → 8×256×56×56, 1×1`.
    public var shapes: String
    /// Multiply-adds × 2, for operations that are mostly arithmetic (convolutions, linear, GEMM);
    /// nil for the memory-bound rest.
    public var flops: Double?
    /// Wall-clock seconds of the subject device's call.
    public var seconds: Double

    public init(layer: String, operation: String, kind: OperationKind, shapes: String, flops: Double?, seconds: Double) {
        self.layer = layer
        self.operation = operation
        self.kind = kind
        self.shapes = shapes
        self.flops = flops
        self.seconds = seconds
    }
}
