/// Transfer learning: find and replace a network's classification head, and tell the head's
/// parameters from the backbone's, for any model whose head is its last `Linear` layer inside a
/// `Sequential` (every zoo family and the small models: `fc`, `classifier`, `classifier.6`, `fc2`).
extension Layer {
    /// The path (relative to this layer) of the classification head: the last `Linear` layer in
    /// forward order, e.g. `fc` or `classifier.6`.
    public var classifierPath: String? {
        guard let name = namedLayers().last(where: { $0.layer is Linear })?.name, name != qualifiedName else { return nil }
        return qualifiedName.isEmpty ? name : String(name.dropFirst(qualifiedName.count + 1))
    }

    /// The classification head, if there is one.
    public var classifier: Linear? { classifierPath.flatMap { layer(at: $0) as? Linear } }

    /// Replaces the head with a freshly initialised `Linear(inputs, classes)` (PyTorch's default
    /// initialisation, seeded), keeping its input width. Returns the new head.
    /// - Throws: `.invalidArgument` if the model has no `Linear` head inside a `Sequential`.
    @discardableResult
    public func replaceClassifier(classes: Int, seed: UInt64 = 0) throws -> Linear {
        guard let path = classifierPath, let old = classifier else {
            throw FoveaError.invalidArgument("\(displayName): no Linear classification head to replace")
        }
        let components = path.split(separator: ".").map(String.init)
        guard let parent = layer(at: components.dropLast().joined(separator: ".")) as? Sequential else {
            throw FoveaError.invalidArgument("\(displayName): the head \(path) is not the child of a Sequential")
        }
        let head = try Linear(old.inputFeatures, classes, bias: old.bias != nil, seed: seed)
        try parent.replace(components.last!, with: head)
        return head
    }

    /// Every parameter except the head's.
    public var backboneParameters: [Parameter] {
        let head = Set((classifier?.allParameters ?? []).map(ObjectIdentifier.init))
        return allParameters.filter { !head.contains(ObjectIdentifier($0)) }
    }

    /// Freezes every parameter except the head's.
    public func freezeBackbone() { for parameter in backboneParameters { parameter.isFrozen = true } }

    /// Loads pretrained weights into everything but the head (whose shape usually differs), and
    /// reports what did not match. Keys of the head in `weights` are ignored.
    /// - Throws: when anything other than the head's keys is missing, unexpected or mismatched.
    public func loadBackbone(_ weights: [String: Tensor]) throws {
        let headPrefix = (classifierPath ?? "\u{0}") + "."
        let backbone = weights.filter { !$0.key.hasPrefix(headPrefix) }
        let mismatch = try loadStateDict(backbone, strict: false)
        let missing = mismatch.missing.filter { !$0.hasPrefix(headPrefix) }
        guard missing.isEmpty, mismatch.unexpected.isEmpty, mismatch.shapeMismatches.isEmpty else {
            var rest = mismatch
            rest.missing = missing
            throw FoveaError(.shapeMismatch, "loading the backbone into \(displayName): \(rest)")
        }
    }
}
