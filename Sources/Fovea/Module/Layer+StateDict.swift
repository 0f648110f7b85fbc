/// What went wrong when loading a state dict, by name.
public struct StateDictMismatch: Sendable, CustomStringConvertible {
    /// Names the model has but the dict lacks.
    public var missing: [String] = []
    /// Names the dict has but the model lacks.
    public var unexpected: [String] = []
    /// Names present in both with different shapes: (name, the model's shape, the dict's shape).
    public var shapeMismatches: [(name: String, expected: Shape, actual: Shape)] = []

    public var isEmpty: Bool { missing.isEmpty && unexpected.isEmpty && shapeMismatches.isEmpty }

    public var description: String {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing keys: \(missing.joined(separator: ", "))") }
        if !unexpected.isEmpty { parts.append("unexpected keys: \(unexpected.joined(separator: ", "))") }
        if !shapeMismatches.isEmpty {
            parts.append("shape mismatches: " + shapeMismatches.map { "\($0.name) expects \($0.expected), got \($0.actual)" }.joined(separator: "; "))
        }
        return parts.joined(separator: "; ")
    }
}

extension Layer {
    /// Every parameter and buffer under its qualified name, as PyTorch's `state_dict()` lists them
    /// (parameters and buffers of each layer, layers depth first).
    public func stateDict() -> [(name: String, tensor: Tensor)] {
        namedLayers().flatMap { path, layer -> [(String, Tensor)] in
            let prefix = path.isEmpty ? "" : path + "."
            return layer.parameters.map { (prefix + $0.name, $0.parameter.value) }
                + layer.buffers.map { (prefix + $0.name, $0.buffer.value) }
        }
    }

    /// Copies tensors into the parameters and buffers of the same names.
    ///
    /// - Parameter strict: when true (the default), any missing key, unexpected key or shape
    ///   mismatch throws and nothing is changed; when false, matching entries are loaded and the
    ///   mismatches are returned. Shape mismatches always leave that entry unchanged.
    /// - Returns: what did not match (empty when everything loaded).
    @discardableResult
    public func loadStateDict(_ dict: [String: Tensor], strict: Bool = true) throws -> StateDictMismatch {
        var targets: [String: (Tensor) -> Void] = [:]
        var shapes: [String: Shape] = [:]
        for (name, parameter) in namedParameters() {
            targets[name] = { parameter.value = $0 }
            shapes[name] = parameter.shape
        }
        for (name, buffer) in namedBuffers() {
            targets[name] = { buffer.value = $0 }
            shapes[name] = buffer.value.shape
        }
        var mismatch = StateDictMismatch()
        mismatch.missing = shapes.keys.filter { dict[$0] == nil }.sorted()
        mismatch.unexpected = dict.keys.filter { shapes[$0] == nil }.sorted()
        for (name, tensor) in dict.sorted(by: { $0.key < $1.key }) {
            guard let expected = shapes[name] else { continue }
            // A scalar buffer (num_batches_tracked) may arrive as [] or [1].
            if tensor.shape != expected && !(expected.count == 1 && tensor.count == 1) {
                mismatch.shapeMismatches.append((name, expected, tensor.shape))
            }
        }
        if strict && !mismatch.isEmpty {
            throw FoveaError(.shapeMismatch, "loading state dict into \(displayName): \(mismatch)")
        }
        let rejected = Set(mismatch.shapeMismatches.map(\.name))
        for (name, tensor) in dict where !rejected.contains(name) {
            guard let assign = targets[name], let shape = shapes[name] else { continue }
            assign(tensor.reshaped(to: shape))
        }
        return mismatch
    }
}
