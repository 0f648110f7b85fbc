#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A process-wide cache of large freed tensor buffers, so that a network's forward pass reuses
/// the memory of the activations it has finished with instead of asking the kernel for fresh pages
/// on every call.
///
/// Why: C's allocator serves large blocks (above its mmap threshold, at most 32 MiB in glibc) by
/// mapping fresh pages and unmaps them on `free`; every first touch of such a page is a page fault
/// plus the kernel zeroing it. Measured on a ResNet-50 1×1 layer at batch 8 (25 MiB output), one
/// thread: 92 GFLOP/s with fresh pages per call, 168 with the memory reused — the faults cost as
/// much as the convolution (Docs/Performance.md, "Reusing tensor memory").
///
/// Policy: buffers of at least `minimumBytes` (1 MiB) are cached on release, keyed by their exact
/// byte size, while the cache holds at most `capacityBytes` (default 256 MiB; `FOVEA_TENSOR_CACHE_MB`,
/// 0 turns caching off); beyond that, or for smaller buffers, they go back to `free`. A request of
/// the same size takes a cached buffer (zeroed by `memset` unless the caller will overwrite every
/// element). Cached memory stays resident: the bound is the most the cache adds to the peak.
public enum StoragePool {
    /// Buffers smaller than this go straight to `free` (the C allocator recycles them well).
    public static let minimumBytes = 1 << 20

    /// The most bytes the cache keeps: `FOVEA_TENSOR_CACHE_MB` MiB, default 256 MiB. An invalid
    /// value stops the program with `capacity(fromEnvironmentValue:)`'s message; `Devices.fromEnvironment()`
    /// checks the variable first and throws that message instead.
    public static let capacityBytes: Int = {
        do {
            return try capacity(fromEnvironmentValue: getenv("FOVEA_TENSOR_CACHE_MB").map { String(cString: $0) })
        } catch {
            fatalError("Fovea: \(error)")
        }
    }()

    /// Bytes for a `FOVEA_TENSOR_CACHE_MB` value: nil or empty → 256 MiB; a whole number of MiB
    /// from 0 (no caching) to 2²⁰.
    /// - Throws: `FoveaError.invalidArgument` naming the variable and the value.
    public static func capacity(fromEnvironmentValue text: String?) throws -> Int {
        try EnvironmentSize.bytes(text, variable: "FOVEA_TENSOR_CACHE_MB", allowed: 0...(1 << 20),
                                  meaning: "the tensor memory kept for reuse; default 256") ?? 256 << 20
    }

    /// A cached block; owned by the cache while in it, so it may cross threads.
    private struct Block: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
    }

    private struct State {
        var buffers: [Int: [Block]] = [:]
        var cachedBytes = 0
    }

    private static let state = Lock(State())

    /// A cached buffer of exactly `bytes` bytes, or nil.
    static func take(bytes: Int) -> UnsafeMutableRawPointer? {
        guard bytes >= minimumBytes else { return nil }
        return state.withLock { state -> Block? in
            guard let block = state.buffers[bytes]?.popLast() else { return nil }
            state.cachedBytes -= bytes
            return block
        }?.pointer
    }

    /// Keeps `buffer` (of `bytes` bytes, from `malloc`/`calloc`) for reuse, or frees it.
    static func give(_ buffer: UnsafeMutableRawPointer, bytes: Int) {
        let block = Block(pointer: buffer)
        let kept = bytes >= minimumBytes && state.withLock { state in
            guard state.cachedBytes + bytes <= capacityBytes else { return false }
            state.buffers[bytes, default: []].append(block)
            state.cachedBytes += bytes
            return true
        }
        if !kept { free(buffer) }
    }

    /// Bytes held by the cache now.
    public static var cachedBytes: Int { state.withLock { $0.cachedBytes } }

    /// Frees every cached buffer (e.g. before measuring memory, or after a large model is done).
    public static func drain() {
        let blocks = state.withLock { state -> [Block] in
            let all = state.buffers.values.flatMap { $0 }
            state.buffers = [:]
            state.cachedBytes = 0
            return all
        }
        for block in blocks { free(block.pointer) }
    }
}
