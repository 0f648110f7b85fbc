@testable import FoveaCore
import Testing

/// Convolution workspace is kept by `WorkspacePool` between calls, so that the next call of the
/// same shape gets the buffer the last one left (still in the cache).
@Suite("Workspace reuse")
struct WorkspacePoolTests {
    /// A buffer given back is the one the next request of its size gets (sizes no other test uses,
    /// as tests run concurrently), aligned, and a request of another size does not get it.
    @Test func theNextCallOfTheSameSizeGetsTheLastBuffer() {
        let bytes = WorkspacePool.minimumBytes + 4 * 12_347
        let first = WorkspacePool.take(bytes: bytes)
        #expect(Int(bitPattern: first) % WorkspacePool.alignment == 0)
        first.storeBytes(of: 42, as: Float.self)  // the whole buffer is writable
        (first + bytes - 4).storeBytes(of: 43, as: Float.self)
        WorkspacePool.give(first, bytes: bytes)
        let other = WorkspacePool.take(bytes: bytes + 64)
        #expect(other != first, "a buffer of another size")
        let again = WorkspacePool.take(bytes: bytes)
        #expect(again == first, "the buffer just given back")
        WorkspacePool.give(again, bytes: bytes)
        WorkspacePool.give(other, bytes: bytes + 64)
    }

    /// What is kept never passes the capacity, and `drain` frees it (other tests run concurrently,
    /// so only the bound is exact).
    @Test func theCapacityHolds() {
        let buffers = (0..<24).map { index in
            let bytes = (1 << 20) + 4 * 7_919 + 64 * index  // 24 sizes of about 1 MiB: more than the capacity
            return (WorkspacePool.take(bytes: bytes), bytes)
        }
        for (buffer, bytes) in buffers { WorkspacePool.give(buffer, bytes: bytes) }
        #expect(WorkspacePool.keptBytes <= WorkspacePool.capacityBytes)
        WorkspacePool.drain()
        #expect(WorkspacePool.keptBytes <= WorkspacePool.capacityBytes)
    }
}
