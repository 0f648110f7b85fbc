/// Layers applied one after another (PyTorch's `nn.Sequential`). Children are named "0", "1", …
/// unless names are given, so parameters are called `0.weight`, `features.3.bias`, ….
public class Sequential: Layer {
    public private(set) var layers: [(name: String, layer: Layer)]

    /// Children named by position: "0", "1", ….
    public init(_ layers: [Layer]) {
        self.layers = layers.enumerated().map { (String($0.offset), $0.element) }
        super.init()
        assignNames(prefix: qualifiedName)
    }

    public convenience init(_ layers: Layer...) { self.init(layers) }

    /// Children with explicit names, e.g. `[("conv1", Conv2D(…)), ("bn1", BatchNorm2D(…))]`.
    /// - Throws: `.invalidArgument` naming the repeated names when two children share a name.
    public init(named layers: [(String, Layer)]) throws {
        let names = layers.map(\.0)
        let repeated = Set(names.filter { name in names.filter { $0 == name }.count > 1 })
        try ArgumentCheck("Sequential").require(repeated.isEmpty, "child names", mustBe: "unique (\(repeated.sorted().joined(separator: ", ")) repeated)", got: names)
        self.layers = layers.map { ($0.0, $0.1) }
        super.init()
        assignNames(prefix: qualifiedName)
    }

    public override var children: [(name: String, layer: Layer)] { layers }

    /// Replaces the child called `name` (e.g. a classifier head) and renames the subtree.
    /// - Throws: `.invalidArgument` naming the children when there is no child `name`.
    public func replace(_ name: String, with layer: Layer) throws {
        guard let index = layers.firstIndex(where: { $0.name == name }) else {
            throw FoveaError.invalidArgument("Sequential \(displayName) has no child '\(name)'; children: \(layers.map(\.name).joined(separator: ", "))")
        }
        layers[index].layer = layer
        assignNames(prefix: qualifiedName)
    }

    /// Appends a child named by its position (or `name`).
    public func append(_ layer: Layer, name: String? = nil) {
        layers.append((name ?? String(layers.count), layer))
        assignNames(prefix: qualifiedName)
    }

    public override func outputShape(for shape: Shape) throws -> Shape {
        try layers.reduce(shape) { try $1.layer.outputShape(for: $0) }
    }

    /// The children in order, neighbours fused where that gives the same result (`LayerFusion`).
    public override func forward(_ input: Tensor, device: any Device) throws -> Tensor {
        try LayerFusion.forward(layers, input: input, device: device)
    }

    public override func backward(_ gradOutput: Tensor, device: any Device) throws -> Tensor {
        try layers.reversed().reduce(gradOutput) { try $1.layer.scopedBackward($0, device: device) }
    }

    /// The children from the last back to the first one with a trainable (not frozen) parameter,
    /// which skips its input gradient where it can; the children before it have nothing to learn
    /// and no gradient to pass on (a `Flatten` before the first `Linear`, or a frozen backbone in
    /// transfer learning), so their backward does not run.
    public override func backwardWithoutInputGradient(_ gradOutput: Tensor, device: any Device) throws {
        guard let first = layers.firstIndex(where: { $0.layer.allParameters.contains { !$0.isFrozen } }) else { return }
        let gradient = try layers[(first + 1)...].reversed().reduce(gradOutput) { try $1.layer.scopedBackward($0, device: device) }
        try layers[first].layer.scopedBackwardWithoutInputGradient(gradient, device: device)
    }

    public override func summaryRows(for shape: Shape) throws -> (rows: [SummaryRow], output: Shape) {
        var rows: [SummaryRow] = []
        var current = shape
        for (_, layer) in layers {
            let (childRows, output) = try layer.summaryRows(for: current)
            rows += childRows
            current = output
        }
        return (rows, current)
    }
}
