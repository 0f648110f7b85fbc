#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The heap buffer behind a `Tensor`: `count` Floats, 64-byte aligned so SIMD loads of a whole
/// cache line never straddle two lines. Owned by exactly the tensors that share it; freed on deinit.
///
/// The memory comes from `calloc`, so it starts as zeros without a clearing pass where the C
/// library knows it is zero already: large buffers are fresh pages from the kernel, which become
/// resident only when written. A tensor of zeros that is overwritten at once (an operation's
/// output) is thus written once, and one that is replaced before use (a model built with
/// `Initializer.withoutRandomValues` and then initialised) costs no resident memory.
public final class TensorStorage: @unchecked Sendable {
    /// The required alignment in bytes (a cache line, and the width of an AVX-512 register).
    public static let alignment = 64

    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>
    /// What `calloc` returned (`pointer` is the first aligned Float in it); given back to `free`.
    private let allocation: UnsafeMutableRawPointer

    /// Allocates `count` Floats, all zero.
    public init(count: Int) {
        self.count = count
        let bytes = max(count, 1) * MemoryLayout<Float>.stride + Self.alignment
        guard let raw = calloc(1, bytes) else {
            fatalError("Fovea: cannot allocate \(bytes) bytes for a tensor of \(count) Floats")
        }
        allocation = raw
        let misalignment = Int(bitPattern: raw) % Self.alignment
        let offset = misalignment == 0 ? 0 : Self.alignment - misalignment
        pointer = (raw + offset).bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// A new storage holding a copy of this one's elements.
    public func copy() -> TensorStorage {
        let result = TensorStorage(count: count)
        result.pointer.update(from: pointer, count: count)
        return result
    }

    deinit { free(allocation) }
}
