import FoveaCore

/// One 64-byte-aligned Float buffer per worker, freed when the owner goes away.
/// The im2col drivers allocate one set per call; the buffers are the convolution's workspace.
package final class ScratchBuffers: @unchecked Sendable {
    private let buffers: [UnsafeMutablePointer<Float>]
    /// Floats in each buffer.
    package let capacity: Int

    package init(workers: Int, capacity: Int) {
        self.capacity = capacity
        buffers = (0..<max(workers, 1)).map { _ in
            UnsafeMutableRawPointer.allocate(
                byteCount: max(capacity, 1) * MemoryLayout<Float>.stride, alignment: TensorStorage.alignment
            ).bindMemory(to: Float.self, capacity: max(capacity, 1))
        }
    }

    /// The buffer of `worker`.
    package subscript(worker: Int) -> UnsafeMutablePointer<Float> { buffers[worker] }

    /// Total bytes held.
    package var byteCount: Int { buffers.count * capacity * MemoryLayout<Float>.stride }

    deinit { for buffer in buffers { buffer.deallocate() } }
}
