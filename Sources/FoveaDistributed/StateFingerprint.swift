import Fovea

/// A 64-bit FNV-1a hash of a model's parameters and buffers — names, shapes and the bit
/// patterns of every value, in state-dict order — for checking that ranks hold the same model.
public enum StateFingerprint {
    /// Names, shapes and values.
    public static func of(_ model: Layer) -> UInt64 { fingerprint(model, values: true) }

    /// Names and shapes only: equal for two models of the same architecture, whatever their weights.
    public static func ofArchitecture(_ model: Layer) -> UInt64 { fingerprint(model, values: false) }

    private static func fingerprint(_ model: Layer, values includingValues: Bool) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        func mix(_ word: UInt32) { for shift in stride(from: 0, to: 32, by: 8) { mix(UInt8(truncatingIfNeeded: word >> UInt32(shift))) } }
        let tensors = model.namedParameters().map { ($0.name, $0.parameter.value) } + model.namedBuffers().map { ($0.name, $0.buffer.value) }
        for (name, tensor) in tensors {
            for byte in name.utf8 { mix(byte) }
            mix(UInt32(tensor.shape.rank))
            for dimension in tensor.shape.dimensions { mix(UInt32(truncatingIfNeeded: dimension)) }
            if includingValues { tensor.withUnsafeBufferPointer { values in for value in values { mix(value.bitPattern) } } }
        }
        return hash
    }

    /// A 64-bit FNV-1a hash of text (e.g. a command line, to check every rank was given the same).
    public static func of(_ text: String) -> UInt64 {
        text.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
}

extension Communicator {
    /// Throws on every rank unless every rank passed the same `value`, naming the ranks whose
    /// value differs from rank 0's.
    /// - Throws: `.distributed`: `rank 1 of 2: <what> differ(s) from rank 0's on rank(s) 1`.
    public func checkSameOnEveryRank(_ value: UInt64, what: String) throws {
        let all = try allgather([Int64(bitPattern: value)], label: "the fingerprints of \(what)").map { $0[0] }
        let differing = all.indices.filter { all[$0] != all[0] }
        guard differing.isEmpty else {
            throw FoveaError(.distributed, "\(name): \(what) differ from rank 0's on rank(s) \(differing.map(String.init).joined(separator: ", "))")
        }
    }
}
