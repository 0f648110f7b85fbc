import FoveaCore

/// One 64-byte-aligned Float buffer per worker, given back to `WorkspacePool` when the owner goes
/// away. The convolution drivers take one set per call; the buffers are the call's workspace,
/// their contents unspecified (often what the last call of the same shape left).
package final class ScratchBuffers: @unchecked Sendable {
    private let buffers: [UnsafeMutablePointer<Float>]
    /// Floats in each buffer.
    package let capacity: Int

    package init(workers: Int, capacity: Int) {
        self.capacity = capacity
        buffers = (0..<max(workers, 1)).map { _ in
            WorkspacePool.take(bytes: max(capacity, 1) * MemoryLayout<Float>.stride).bindMemory(to: Float.self, capacity: max(capacity, 1))
        }
    }

    /// The buffer of `worker`.
    package subscript(worker: Int) -> UnsafeMutablePointer<Float> { buffers[worker] }

    /// Total bytes held.
    package var byteCount: Int { buffers.count * capacity * MemoryLayout<Float>.stride }

    deinit {
        for buffer in buffers { WorkspacePool.give(UnsafeMutableRawPointer(buffer), bytes: max(capacity, 1) * MemoryLayout<Float>.stride) }
    }
}
