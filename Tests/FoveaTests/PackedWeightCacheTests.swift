@testable import FoveaDispatch
import Fovea
import FoveaKernels
import FoveaTestSupport
import Testing

/// Packed weights kept across calls (`PackedWeightCache`, `Tensor.contentStamp`).
@Suite("Packed weight cache")
struct PackedWeightCacheTests {
    static func key(_ tensor: Tensor, rows: Int = 4) -> PackedWeightCache.Key {
        PackedWeightCache.Key(contents: tensor.contentStamp, kernel: "k", rows: rows, depth: 9, groups: 1)
    }

    /// Stamps: shared storage shares the stamp; a mutation, in place or after a copy-on-write,
    /// gives the mutated tensor a new stamp and leaves the other's alone.
    @Test func stampsFollowTheContents() {
        var a = Tensor.randomNormal([3, 4], seed: 1)
        let before = a.contentStamp
        var b = a
        #expect(b.contentStamp == before)
        b[0, 0] = 5  // copy-on-write: b gets its own storage
        #expect(b.contentStamp != before && a.contentStamp == before)
        a.withUnsafeMutableBufferPointer { $0[1] += 1 }  // in place: same storage, new version
        #expect(a.contentStamp != before && a.contentStamp.identity == before.identity)
        #expect(Tensor(zeros: [3, 4]).contentStamp.identity != Tensor(zeros: [3, 4]).contentStamp.identity)
    }

    /// Stored on the second packing of the same contents, found afterwards; a new version of the
    /// tensor replaces the old entry; the least recently used entries go beyond the limit;
    /// packings larger than the limit are never stored.
    @Test func storesOnTheSecondPackingAndEvicts() {
        let cache = PackedWeightCache(limitBytes: 3 * 400)
        var w = Tensor.randomNormal([100], seed: 2)
        let packed = Tensor.randomNormal([100], seed: 3)
        #expect(cache.lookup(Self.key(w)) == nil)
        #expect(!cache.shouldStore(Self.key(w), bytes: 400))
        #expect(cache.shouldStore(Self.key(w), bytes: 400))
        cache.store(packed, for: Self.key(w))
        #expect(cache.lookup(Self.key(w))?.scalars == packed.scalars)
        #expect(cache.lookup(Self.key(w, rows: 5)) == nil, "another layer shape")

        let old = Self.key(w)
        w.withUnsafeMutableBufferPointer { $0[0] = 42 }
        #expect(cache.lookup(Self.key(w)) == nil, "new contents miss")
        cache.store(packed, for: Self.key(w))
        #expect(cache.lookup(old) == nil, "the old contents' entry is replaced")
        #expect(cache.storedBytes == 400)

        let others = (0..<3).map { Tensor.randomNormal([100], seed: UInt64(10 + $0)) }
        for other in others { cache.store(packed, for: Self.key(other)) }
        #expect(cache.storedBytes <= 1200)
        #expect(cache.lookup(Self.key(w)) == nil, "the least recently used went first")
        #expect(cache.lookup(Self.key(others[2])) != nil)
        #expect(!cache.shouldStore(Self.key(others[0], rows: 9), bytes: 2000) && !cache.shouldStore(Self.key(others[0], rows: 9), bytes: 2000))
    }

    /// Two preparations of the same contents (a GEMM packing and Winograd filters) are kept side
    /// by side; storing the tensor's next contents drops both.
    @Test func keepsSeveralPreparationsOfTheSameContents() {
        let cache = PackedWeightCache(limitBytes: 1 << 20)
        var w = Tensor.randomNormal([10], seed: 6)
        let packed = Tensor.randomNormal([10], seed: 7)
        func key(_ kernel: String) -> PackedWeightCache.Key {
            PackedWeightCache.Key(contents: w.contentStamp, kernel: kernel, rows: 1, depth: 10, groups: 1)
        }
        let (gemm, winograd) = (key("gemm"), key("winograd"))
        cache.store(packed, for: gemm)
        cache.store(packed, for: winograd)
        #expect(cache.lookup(gemm) != nil && cache.lookup(winograd) != nil)
        w.withUnsafeMutableBufferPointer { $0[0] += 1 }
        cache.store(packed, for: key("gemm"))
        #expect(cache.lookup(gemm) == nil && cache.lookup(winograd) == nil, "older contents dropped")
        #expect(cache.storedBytes == 40)
    }

    /// Winograd keeps its transformed filters (forward and the flipped ones of backward-data): repeated
    /// calls agree with naive, and after the weights change in place the next call uses the new ones.
    @Test(arguments: [1, 2])
    func changedWeightsAreNeverStaleWithWinograd(batch: Int) throws {
        let device = DispatchDevice(threads: 2, fallback: nil, winograd: .always)
        let g = try Conv2DGeometry(inputShape: [batch, 20, 12, 12], weightShape: [24, 20, 3, 3], options: Conv2DOptions(padding: 1))
        #expect(try device.convolutionPlan(for: g, pass: .forward).algorithm == .winograd4)
        let input = Tensor.randomNormal(g.inputShape, seed: 8)
        let gradOutput = Tensor.randomNormal(g.outputShape, seed: 9)
        Self.callThreeTimesPerVersion(of: Tensor.randomNormal(g.weightShape, seed: 10), changingEvery: 5, by: -0.5) { weight, round in
            expectClose(device.conv2dForward(input: input, weight: weight, bias: nil, geometry: g),
                        TestDevices.naive.conv2dForward(input: input, weight: weight, bias: nil, geometry: g),
                        absolute: 1e-3, relative: 1e-4, "forward, round \(round)")
            expectClose(device.conv2dBackwardData(gradOutput: gradOutput, weight: weight, geometry: g),
                        TestDevices.naive.conv2dBackwardData(gradOutput: gradOutput, weight: weight, geometry: g),
                        absolute: 1e-3, relative: 1e-4, "backward-data, round \(round)")
        }
    }

    /// Through the Dispatch backend: repeated calls (which keep the packing) agree with naive, and
    /// after the weights change in place the next call uses the new weights, never the kept packing.
    @Test(arguments: [1, 3])
    func changedWeightsAreNeverStale(batch: Int) throws {
        let device = DispatchDevice(threads: 2, fallback: nil, winograd: .never)
        let g = try Conv2DGeometry(inputShape: [batch, 20, 9, 9], weightShape: [30, 20, 3, 3], options: Conv2DOptions(padding: 1))
        let input = Tensor.randomNormal(g.inputShape, seed: 4)
        Self.callThreeTimesPerVersion(of: Tensor.randomNormal(g.weightShape, seed: 5), changingEvery: 7, by: 0.5) { weight, round in
            expectClose(device.conv2dForward(input: input, weight: weight, bias: nil, geometry: g),
                        TestDevices.naive.conv2dForward(input: input, weight: weight, bias: nil, geometry: g),
                        absolute: 1e-4, relative: 1e-4, "round \(round)")
        }
    }

    /// Runs `check(weight, round)` three times for each of three versions of `weight`, changing
    /// every `step`-th element by `delta` in place between rounds (same storage, new contents).
    static func callThreeTimesPerVersion(of initial: Tensor, changingEvery step: Int, by delta: Float,
                                         _ check: (Tensor, Int) -> Void) {
        var weight = initial
        for round in 0..<3 {
            for _ in 0..<3 { check(weight, round) }
            weight.withUnsafeMutableBufferPointer { w in for i in stride(from: 0, to: w.count, by: step) { w[i] += delta } }
        }
    }
}
