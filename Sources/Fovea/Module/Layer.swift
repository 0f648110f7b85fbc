/// The base class of every layer and every composite of layers (PyTorch's `nn.Module`).
///
/// A layer:
/// - infers and checks shapes before any data flows (`outputShape(for:)`, throwing a `FoveaError`
///   that names the layer, the expected and the actual shape);
/// - computes `forward` on a device and, in training mode, remembers what `backward` needs;
/// - in `backward`, takes `∂L/∂output`, accumulates its parameters' gradients and returns
///   `∂L/∂input`;
/// - lists its own parameters and buffers and its children, under the names PyTorch's
///   `state_dict()` uses (`weight`, `bias`, `running_mean`, `layer1.0.conv1.weight`, …).
///
/// Subclasses override what applies. Layers are classes: a model is a tree of objects that
/// hold state; use one model from one thread at a time.
open class Layer {
    /// Training mode (batch statistics, dropout active, activations kept for backward) or
    /// evaluation mode. Set for a whole tree with `train()` / `eval()`.
    public private(set) var isTraining = true

    /// The dotted path from the root, e.g. `layer1.0.conv1`; empty for a root.
    public private(set) var qualifiedName = ""

    public init() {}

    /// The name used in messages: the qualified name, or the type for an unnamed root.
    public var displayName: String { qualifiedName.isEmpty ? typeName : qualifiedName }

    /// The layer's kind as shown by `summary`, e.g. `Conv2D`.
    open var typeName: String { String(describing: type(of: self)) }

    /// Direct sub-layers with their local names, in forward order.
    open var children: [(name: String, layer: Layer)] { [] }

    /// This layer's own parameters (not its children's), with local names.
    open var parameters: [(name: String, parameter: Parameter)] { [] }

    /// This layer's own buffers (not its children's), with local names.
    open var buffers: [(name: String, buffer: Buffer)] { [] }

    /// The output shape for an input of `shape`, or a `FoveaError` naming this layer.
    open func outputShape(for shape: Shape) throws -> Shape { shape }

    /// Runs the layer. In training mode, keeps what `backward` needs.
    open func forward(_ input: Tensor, device: any Device) throws -> Tensor {
        fatalError("\(typeName) must override forward(_:device:)")
    }

    /// Given `∂L/∂output` of the last training-mode forward, accumulates parameter gradients and
    /// returns `∂L/∂input`.
    open func backward(_ gradOutput: Tensor, device: any Device) throws -> Tensor {
        fatalError("\(typeName) must override backward(_:device:)")
    }

    /// `backward` for a caller that has no use for `∂L/∂input` — `Trainer`, whose input is the
    /// data (PyTorch does not compute gradients for tensors that do not require them): parameter
    /// gradients are accumulated exactly as `backward` does, and layers that can skip computing
    /// `∂L/∂input` do (`Conv2D`, `Linear`; `Sequential` runs no backward before its first child
    /// with a trainable parameter, which skips its own input gradient). The default runs
    /// `backward` and drops its result.
    open func backwardWithoutInputGradient(_ gradOutput: Tensor, device: any Device) throws {
        _ = try backward(gradOutput, device: device)
    }

    /// Multiply-adds × 2 of one forward pass for an input of `shape` (for `summary`).
    open func flops(for shape: Shape) -> Double { 0 }

    /// Called when the mode changes; override to react (the default does nothing).
    open func modeDidChange() {}

    /// The summary rows of this layer for an input of `shape` and its output shape. A leaf layer
    /// gives one row; composites override to list their children (and their own additions).
    open func summaryRows(for shape: Shape) throws -> (rows: [SummaryRow], output: Shape) {
        let (row, output) = try leafRow(for: shape)
        return ([row], output)
    }

    // MARK: Tree operations

    /// Sets the qualified names of this layer and its whole subtree. Composites call it on
    /// themselves when built; a parent calls it again when it adopts a child.
    public func assignNames(prefix: String) {
        qualifiedName = prefix
        for (name, child) in children {
            child.assignNames(prefix: prefix.isEmpty ? name : "\(prefix).\(name)")
        }
    }

    /// Training mode for the whole tree.
    public func train() { setTraining(true) }

    /// Evaluation mode for the whole tree.
    public func eval() { setTraining(false) }

    private func setTraining(_ training: Bool) {
        isTraining = training
        modeDidChange()
        for (_, child) in children { child.setTraining(training) }
    }

    /// Every layer of the tree, depth first, with qualified names (the root as "").
    public func namedLayers() -> [(name: String, layer: Layer)] {
        var result: [(String, Layer)] = [(qualifiedName, self)]
        for (_, child) in children { result += child.namedLayers() }
        return result
    }

    /// Every parameter of the tree under its qualified name, e.g. `layer1.0.conv1.weight`.
    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        namedLayers().flatMap { path, layer in
            layer.parameters.map { (path.isEmpty ? $0.name : "\(path).\($0.name)", $0.parameter) }
        }
    }

    /// Every buffer of the tree under its qualified name, e.g. `bn1.running_mean`.
    public func namedBuffers() -> [(name: String, buffer: Buffer)] {
        namedLayers().flatMap { path, layer in
            layer.buffers.map { (path.isEmpty ? $0.name : "\(path).\($0.name)", $0.buffer) }
        }
    }

    /// All parameters of the tree.
    public var allParameters: [Parameter] { namedParameters().map(\.parameter) }

    /// The number of scalar parameters (trainable or frozen) in the tree.
    public var parameterCount: Int { allParameters.reduce(0) { $0 + $1.value.count } }

    /// Clears every parameter's gradient.
    public func zeroGradients() { for parameter in allParameters { parameter.zeroGradient() } }

    /// Freezes (or unfreezes) every parameter of this subtree.
    public func freeze(_ frozen: Bool = true) { for parameter in allParameters { parameter.isFrozen = frozen } }

    /// Unfreezes every parameter of this subtree.
    public func unfreeze() { freeze(false) }

    /// True when every parameter of this subtree is frozen (a layer with none counts as frozen).
    public var isFrozen: Bool { allParameters.allSatisfy(\.isFrozen) }

    /// The layer at a dotted path below this one, e.g. `layer1.0.conv1`; nil when there is none.
    public func layer(at path: String) -> Layer? {
        if path.isEmpty { return self }
        var current: Layer = self
        for component in path.split(separator: ".") {
            guard let next = current.children.first(where: { $0.name == component })?.layer else { return nil }
            current = next
        }
        return current
    }

    // MARK: Convenience

    /// Checks the shapes for `inputShape` through the whole tree, and that every activation fits
    /// in memory (`checkActivationSizes`), and returns the output shape.
    @discardableResult
    public func build(inputShape: Shape) throws -> Shape {
        try AllocationLimit.check(inputShape, for: "\(displayName): the input")
        let output = try outputShape(for: inputShape)
        try checkActivationSizes(for: inputShape)
        return output
    }

    /// Throws unless the input of `shape` and every layer's output for it fit in memory
    /// (`AllocationLimit`, one tensor at a time), before a forward pass allocates them. The
    /// output shapes come from shape inference (`summaryRows`), so nothing is allocated.
    /// - Throws: the shape errors of shape inference, or `.invalidArgument` naming the layer, its
    ///   output shape, the bytes and the limit.
    public func checkActivationSizes(for shape: Shape) throws {
        try AllocationLimit.check(shape, for: "\(displayName): the input")
        for row in try summaryRows(for: shape).rows {
            try AllocationLimit.check(row.outputShape, for: "\(row.name) (\(row.type)): the output")
        }
    }

    /// `forward` on `Devices.current`.
    public func callAsFunction(_ input: Tensor) throws -> Tensor { try forward(input, device: Devices.current) }

    /// The error a layer throws when `backward` runs without a training-mode forward before it.
    public func missingForwardError() -> FoveaError {
        FoveaError(.invalidArgument, "\(displayName): backward needs a forward pass in training mode first (call train() before forward)")
    }

    /// A shape error naming this layer.
    public func shapeError(_ detail: String) -> FoveaError {
        FoveaError.shapeMismatch("\(displayName) (\(typeName)): \(detail)")
    }
}
