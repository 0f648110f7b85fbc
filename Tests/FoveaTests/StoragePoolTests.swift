@testable import FoveaCore
import Fovea
import Testing

/// Large tensor buffers are reused through `StoragePool`; reuse must never leak old values into a
/// tensor of zeros, and the cache must stay within its bound.
@Suite("Tensor storage reuse")
struct StoragePoolTests {
    /// A buffer released dirty and taken again by `Tensor(zeros:)` of the same size reads as zeros.
    @Test func reusedBuffersAreZeroedForZeroTensors() {
        let shape: Shape = [3, 512, 512]  // 3 MiB: above the pool's 1 MiB minimum
        for _ in 0..<4 {
            var dirty = Tensor(uninitialized: shape)
            dirty.withUnsafeMutableBufferPointer { $0.update(repeating: 7) }
            #expect(dirty[flat: 0] == 7)
        }
        let zeros = Tensor(zeros: shape)
        #expect(zeros.scalars.allSatisfy { $0 == 0 }, "a reused buffer kept old values")
    }

    /// Releasing large tensors never takes the cache past its capacity, and `drain` frees what it
    /// holds (other tests run concurrently, so only the bound is exact).
    @Test func cacheStaysWithinItsBound() {
        for round in 0..<3 {
            let tensors = (0..<40).map { Tensor(repeating: Float($0), shape: [(1 << 20) + round * 64 + $0]) }  // ≈ 4 MiB each
            withExtendedLifetime(tensors) {}  // all 40 alive together, then released at once
            #expect(StoragePool.cachedBytes <= StoragePool.capacityBytes)
        }
        #expect(StoragePool.cachedBytes <= StoragePool.capacityBytes)
        StoragePool.drain()
        #expect(StoragePool.cachedBytes <= StoragePool.capacityBytes)
    }

    /// With the tensor cache on (the default), the C allocator is told once to keep freed blocks
    /// up to 32 MiB in its heap and to trim it only past the cache's capacity (`HeapRetention`):
    /// glibc's `mallopt` is found and accepts both thresholds (with `FOVEA_TENSOR_CACHE_MB=0`,
    /// the C library's defaults stay).
    @Test func theAllocatorKeepsFreedMemory() {
        _ = Tensor(zeros: [1 << 18])  // the first tensor applies the policy
        #expect(HeapRetention.apply() == (StoragePool.capacityBytes > 0))
    }

    /// The shelf keeps the newest buffers: a new size that does not fit pushes out the least
    /// recently put ones (not refused as before), one larger than the capacity is given back, and
    /// `take` returns the most recent buffer of the size.
    @Test func shelfKeepsTheMostRecentBuffers() {
        var shelf = BufferShelf<String>(capacity: 100)
        #expect(shelf.put("a40", bytes: 40).isEmpty && shelf.put("b30", bytes: 30).isEmpty && shelf.put("c30", bytes: 30).isEmpty)
        #expect(shelf.bytes == 100)
        #expect(shelf.put("d50", bytes: 50) == ["a40", "b30"], "oldest first, until d fits")
        #expect(shelf.bytes == 80)
        #expect(shelf.put("huge", bytes: 101) == ["huge"])
        #expect(shelf.put("e30", bytes: 30) == ["c30"])
        #expect(shelf.take(bytes: 30) == "e30" && shelf.take(bytes: 30) == nil)
        #expect(shelf.take(bytes: 50) == "d50" && shelf.bytes == 0)
        #expect(shelf.put("f10", bytes: 10).isEmpty && shelf.removeAll() == ["f10"] && shelf.bytes == 0)
    }

    /// A request that finds no buffer of its size frees at least that many bytes of the least
    /// recently released ones (so a miss does not add to what the cache holds), all of them when
    /// they are fewer, and none above the size limit.
    @Test func aMissReleasesTheOldestBuffers() {
        var shelf = BufferShelf<String>(capacity: 100)
        #expect(shelf.put("a20", bytes: 20).isEmpty && shelf.put("b30", bytes: 30).isEmpty && shelf.put("c10", bytes: 10).isEmpty)
        #expect(shelf.release(atLeast: 25) == ["a20", "b30"], "oldest first, until 25 bytes are freed")
        #expect(shelf.bytes == 10 && shelf.take(bytes: 10) == "c10")
        #expect(shelf.put("d10", bytes: 10).isEmpty && shelf.release(atLeast: 50) == ["d10"] && shelf.bytes == 0)
        #expect(shelf.release(atLeast: 1).isEmpty)
        #expect(shelf.put("e60", bytes: 60).isEmpty && shelf.put("f10", bytes: 10).isEmpty)
        #expect(shelf.release(atLeast: 30, ofAtMost: 50) == ["f10"], "buffers above the limit stay")
        #expect(shelf.bytes == 60)
    }

    /// `FOVEA_TENSOR_CACHE_MB` is parsed strictly; a bad value is an error naming it.
    @Test(arguments: ["-1", "1.5", "lots", "64MB", " 8", "99999999999"])
    func badCacheSizeIsAClearError(text: String) {
        do {
            _ = try Devices.fromEnvironment(["FOVEA_TENSOR_CACHE_MB": text])
            Issue.record("FOVEA_TENSOR_CACHE_MB='\(text)' was accepted")
        } catch let error as FoveaError {
            #expect(error.message.contains("FOVEA_TENSOR_CACHE_MB") && error.message.contains("'\(text)'"), "\(error.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func cacheSizeValues() throws {
        #expect(try StoragePool.capacity(fromEnvironmentValue: nil) == 256 << 20)
        #expect(try StoragePool.capacity(fromEnvironmentValue: "") == 256 << 20)
        #expect(try StoragePool.capacity(fromEnvironmentValue: "0") == 0)
        #expect(try StoragePool.capacity(fromEnvironmentValue: "64") == 64 << 20)
    }
}
