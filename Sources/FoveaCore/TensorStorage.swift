import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The heap buffer behind a `Tensor`: `count` Floats, 64-byte aligned so SIMD loads of a whole
/// cache line never straddle two lines. Owned by exactly the tensors that share it; freed on deinit.
///
/// Large buffers (≥ 1 MiB) are reused through `StoragePool` when one of the same size was freed
/// recently (cleared with `memset` unless the caller overwrites every element anyway); otherwise
/// the memory comes from `calloc`, so it starts as zeros without a clearing pass where the C
/// library knows it is zero already: large buffers are fresh pages from the kernel, which become
/// resident only when written. A buffer the caller overwrites comes from `malloc`, which
/// reuses freed heap memory of any size without clearing it. A model built with
/// `Initializer.withoutRandomValues` and then initialised thus costs no resident memory for its
/// placeholder weights.
public final class TensorStorage: @unchecked Sendable {
    /// The required alignment in bytes (a cache line, and the width of an AVX-512 register).
    public static let alignment = 64

    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>
    /// Unique for the life of the process (unlike the address, which a later storage may reuse).
    public let identity: UInt64 = TensorStorage.identities.wrappingAdd(1, ordering: .relaxed).newValue
    /// Bumped by every mutable access through a `Tensor` (`Tensor.makeUnique`), so that
    /// `(identity, version)` names the contents: see `Tensor.contentStamp`.
    public internal(set) var version: UInt64 = 0
    private static let identities = Atomic<UInt64>(0)
    /// What `calloc` returned (`pointer` is the first aligned Float in it); given back to
    /// `StoragePool` (which frees or keeps it).
    private let allocation: UnsafeMutableRawPointer
    private let bytes: Int

    /// Allocates `count` Floats, all zero; with `zeroed: false` their values are unspecified
    /// (for outputs whose every element the caller writes before anyone reads).
    public init(count: Int, zeroed: Bool = true) {
        self.count = count
        let bytes = max(count, 1) * MemoryLayout<Float>.stride + Self.alignment
        self.bytes = bytes
        let raw: UnsafeMutableRawPointer
        if let reused = StoragePool.take(bytes: bytes) {
            if zeroed { memset(reused, 0, bytes) }
            raw = reused
        } else {
            guard let fresh = zeroed ? calloc(1, bytes) : malloc(bytes) else {
                fatalError("Fovea: cannot allocate \(bytes) bytes for a tensor of \(count) Floats")
            }
            raw = fresh
        }
        allocation = raw
        let misalignment = Int(bitPattern: raw) % Self.alignment
        let offset = misalignment == 0 ? 0 : Self.alignment - misalignment
        pointer = (raw + offset).bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// A new storage holding a copy of this one's elements.
    public func copy() -> TensorStorage {
        let result = TensorStorage(count: count, zeroed: false)
        result.pointer.update(from: pointer, count: count)
        return result
    }

    deinit { StoragePool.give(allocation, bytes: bytes) }
}
