import Fovea

/// A 64-bit FNV-1a hash of a model's parameters and buffers — names, shapes and the bit
/// patterns of every value, in state-dict order — for checking that ranks hold the same model.
public enum StateFingerprint {
    public static func of(_ model: Layer) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        func mix(_ word: UInt32) { for shift in stride(from: 0, to: 32, by: 8) { mix(UInt8(truncatingIfNeeded: word >> UInt32(shift))) } }
        let tensors = model.namedParameters().map { ($0.name, $0.parameter.value) } + model.namedBuffers().map { ($0.name, $0.buffer.value) }
        for (name, tensor) in tensors {
            for byte in name.utf8 { mix(byte) }
            for dimension in tensor.shape.dimensions { mix(UInt32(truncatingIfNeeded: dimension)) }
            tensor.withUnsafeBufferPointer { values in for value in values { mix(value.bitPattern) } }
        }
        return hash
    }
}
