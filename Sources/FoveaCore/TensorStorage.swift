/// The heap buffer behind a `Tensor`: `count` Floats, 64-byte aligned so SIMD loads of a whole
/// cache line never straddle two lines. Owned by exactly the tensors that share it; freed on deinit.
public final class TensorStorage: @unchecked Sendable {
    /// The required alignment in bytes (a cache line, and the width of an AVX-512 register).
    public static let alignment = 64

    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    /// Allocates `count` uninitialised-to-zero Floats (they are set to zero).
    public init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: Self.alignment)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    /// A new storage holding a copy of this one's elements.
    public func copy() -> TensorStorage {
        let result = TensorStorage(count: count)
        result.pointer.update(from: pointer, count: count)
        return result
    }

    deinit { pointer.deallocate() }
}
