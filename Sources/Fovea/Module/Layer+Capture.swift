/// Capturing an intermediate activation: run a model only as far as one of its layers.
extension Layer {
    /// Runs `forward` through this tree up to and including the layer at the dotted `path`
    /// (e.g. `relu1`, `layer2.0`) and returns that layer's output; the layers after it do not run.
    ///
    /// The path must lie on a chain of `Sequential`s from this layer down, because only there is
    /// "the output of a layer" the input of the next: a layer inside a residual or dense block
    /// (e.g. `layer1.0.conv1`) is an error that names the block to capture instead.
    /// - Throws: `.invalidArgument` for an unknown or unreachable path, listing the capturable
    ///   layers; the layers' own shape errors.
    public func forward(_ input: Tensor, device: any Device, upTo path: String) throws -> Tensor {
        let capturable = capturableLayers
        let listing = capturable.map(\.name).joined(separator: ", ")
        guard let target = layer(at: path), !path.isEmpty else {
            throw FoveaError.invalidArgument("\(displayName) has no layer '\(path)'; layers whose output can be captured: \(listing)")
        }
        guard capturable.contains(where: { $0.layer === target }) else {
            let block = namedLayers().last { entry in
                entry.layer !== target && !(entry.layer is Sequential) && entry.layer.contains(target)
            }
            throw FoveaError.invalidArgument(
                "'\(path)' is inside \(block.map { "'\($0.layer.displayName)' (\($0.layer.typeName))" } ?? "a block"), whose output is not a chain of its children; capturable layers: \(listing)")
        }
        return try forwardPrefix(input, device: device, target: target)
    }

    /// The layers `forward(_:device:upTo:)` accepts, in forward order, with their paths relative
    /// to this layer: every layer reached from here through `Sequential`s only.
    public var capturableLayers: [(name: String, layer: Layer)] {
        var result: [(String, Layer)] = []
        func visit(_ layer: Layer, prefix: String) {
            guard let sequential = layer as? Sequential else { return }
            for (name, child) in sequential.layers {
                let path = prefix.isEmpty ? name : "\(prefix).\(name)"
                result.append((path, child))
                visit(child, prefix: path)
            }
        }
        visit(self, prefix: "")
        return result
    }

    /// The output of `target`, which lies in this subtree on a chain of `Sequential`s.
    private func forwardPrefix(_ input: Tensor, device: any Device, target: Layer) throws -> Tensor {
        if self === target { return try scopedForward(input, device: device) }
        guard let sequential = self as? Sequential else { preconditionFailure("\(displayName) is not a Sequential") }
        var current = input
        for (_, child) in sequential.layers {
            if child.contains(target) { return try child.forwardPrefix(current, device: device, target: target) }
            current = try child.scopedForward(current, device: device)
        }
        preconditionFailure("\(target.displayName) is not below \(displayName)")
    }

    private func contains(_ target: Layer) -> Bool {
        self === target || children.contains { $0.layer.contains(target) }
    }
}
