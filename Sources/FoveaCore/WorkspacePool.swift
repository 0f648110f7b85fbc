#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A process-wide shelf of convolution workspace (the per-call scratch of the Winograd, im2col
/// and shifted-image drivers, `ScratchBuffers`), so that the next call of the same shape gets the
/// buffer the last one just left, still in the cache, instead of whatever the C allocator finds.
///
/// Why: a network calls many layers of one shape in a row (DenseNet's growth layers, ResNet's
/// blocks), each allocating and freeing the same workspace. With `malloc` each call's workspace
/// (about 370 KB for a growth layer at 14×14) landed at another address of a heap the layers in
/// between had fragmented, so its first writes went to memory: DenseNet-121's growth layers at
/// 14×14 slowed from 0.2 to 0.55 ms along the block at batch 1 (Docs/Performance.md, "Workspace
/// that stays in the cache").
///
/// Policy: buffers of at least `minimumBytes` are kept on release, keyed by their exact byte size,
/// within `capacityBytes`, the least recently released freed first (`KeptBlocks`); a request
/// takes the most recently released buffer of its size. The contents are unspecified.
package enum WorkspacePool {
    /// Smaller buffers come from and go back to the C allocator.
    package static let minimumBytes = 16 << 10
    /// The most bytes kept for reuse (16 MiB): a few layers' workspace, so that the pool adds
    /// little to the peak resident memory.
    package static let capacityBytes = 16 << 20
    /// The alignment of every buffer (a cache line; `TensorStorage.alignment`).
    package static let alignment = TensorStorage.alignment

    private static let blocks = KeptBlocks(capacity: capacityBytes)

    /// A buffer of `bytes` bytes (at least 1), 64-byte aligned: a kept one of that size, else a new one.
    /// Give it back with `give(_:bytes:)` and the same size.
    package static func take(bytes: Int) -> UnsafeMutableRawPointer {
        let bytes = max(bytes, 1)
        if bytes >= minimumBytes, let kept = blocks.take(bytes: bytes) { return kept }
        var pointer: UnsafeMutableRawPointer?
        guard posix_memalign(&pointer, alignment, bytes) == 0, let pointer else {
            fatalError("Fovea: cannot allocate \(bytes) bytes of convolution workspace")
        }
        return pointer
    }

    /// Keeps `buffer` (from `take(bytes:)` with this `bytes`) for reuse, freeing older kept
    /// buffers to make room, or frees it.
    package static func give(_ buffer: UnsafeMutableRawPointer, bytes: Int) {
        let bytes = max(bytes, 1)
        guard bytes >= minimumBytes else { return free(buffer) }
        blocks.keep(buffer, bytes: bytes)
    }

    /// Bytes kept now.
    package static var keptBytes: Int { blocks.bytes }

    /// Frees every kept buffer.
    package static func drain() { blocks.drain() }
}
