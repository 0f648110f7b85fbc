/// A trainable tensor of a layer (a weight or a bias) with its accumulated gradient.
///
/// Parameters are reference types: the layer that owns one and the optimiser that updates it
/// share the same object. `gradient` accumulates (`+=`) over backward passes until
/// `zeroGradient()`, as in PyTorch. A frozen parameter gets no gradient and is skipped by
/// optimisers.
public final class Parameter {
    /// The tensor. Every change — assignment, in-place update, loading a state dict — bumps `version`.
    public var value: Tensor { didSet { version &+= 1 } }
    /// Counts the changes of `value`; caches derived from it (folded batch norm) compare it.
    public private(set) var version = 0
    /// `∂L/∂value` summed over backward passes since the last `zeroGradient()`; nil when none yet.
    public var gradient: Tensor?
    /// Excluded from updates and, where the layer can, from gradient computation.
    public var isFrozen = false
    /// Called after each `accumulateGradient` with this parameter, on the thread that ran the
    /// layer's backward (PyTorch's post-accumulate-grad hook). Data-parallel training
    /// (`DataParallel` in FoveaDistributed) uses it to start averaging a bucket of gradients
    /// across processes while backward goes on with the layers before.
    public var afterGradientAccumulation: ((Parameter) -> Void)?

    public init(_ value: Tensor) {
        self.value = value
    }

    public var shape: Shape { value.shape }

    /// Adds `delta` to the gradient (or sets it, the first time). Does nothing when frozen.
    public func accumulateGradient(_ delta: Tensor) {
        guard !isFrozen else { return }
        if gradient == nil { gradient = delta } else { gradient! += delta }
        afterGradientAccumulation?(self)
    }

    public func zeroGradient() { gradient = nil }
}

/// A non-trainable tensor a layer keeps as state (batch norm's running mean and variance, the
/// count of batches tracked). Saved and loaded with the parameters.
public final class Buffer {
    /// The tensor. Every change — assignment, in-place update, loading a state dict — bumps `version`.
    public var value: Tensor { didSet { version &+= 1 } }
    /// Counts the changes of `value`; caches derived from it (folded batch norm) compare it.
    public private(set) var version = 0

    public init(_ value: Tensor) {
        self.value = value
    }
}
