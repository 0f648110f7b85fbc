@testable import FoveaDispatch
import Fovea
import FoveaTestSupport
import Testing

/// The Dispatch backend's backward-filter with B panels made straight from the image
/// (`DirectGEMMBackwardFilter`, with the AVX-512 or AVX2 kernel).
@Suite("Dispatch direct backward-filter")
struct DirectBackwardFilterTests {
    static let hasNativeKernel = GEMMKernel.best.isNative

    /// 1×1 layers, whose colᵀ is the image's rows: split by positions when their stretches reach
    /// a depth block, else by taps; with groups and an odd channel count.
    static let pointwise: [Conv2DGeometry] = [
        try! Conv2DGeometry(inputShape: [1, 40, 48, 48], weightShape: [24, 40, 1, 1], options: Conv2DOptions()),
        try! Conv2DGeometry(inputShape: [2, 70, 9, 7], weightShape: [33, 70, 1, 1], options: Conv2DOptions()),
        try! Conv2DGeometry(inputShape: [1, 130, 6, 5], weightShape: [20, 130, 1, 1], options: Conv2DOptions()),
        try! Conv2DGeometry(inputShape: [3, 36, 30, 30], weightShape: [15, 12, 1, 1], options: Conv2DOptions(groups: 3)),
    ]

    /// Random geometries (strides 1–3, padding at every border, dilation, groups, batches 1–3,
    /// tap counts that end mid-panel; both splits, by taps and by positions) and the 1×1 layers
    /// above: ∂W agrees with naive, ∂b too, and the result is
    /// bit-identical at 1–4 threads, with every C kernel the CPU runs (AVX-512's 32-tap and AVX2's
    /// 16-tap panels) and with tiny GEMM blocks (every
    /// depth block and panel edge, and the multi-block path of `PackedGEMM.compute`).
    @Test(.enabled(if: Self.hasNativeKernel, "needs AVX-512 or AVX2"))
    func agreesWithNaiveAndAcrossThreads() throws {
        var generator = SeededGenerator(seed: 31337)
        func pick(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
        var checked = 0, byTaps = 0
        var fixed = Self.pointwise
        while checked < 30 + Self.pointwise.count {
            if let g = fixed.popLast() {
                try check(g)
                continue
            }
            let groups = pick(1...2)
            let options = Conv2DOptions(
                stride: Size2D(height: pick(1...3), width: pick(1...3)),
                padding: Size2D(height: pick(0...2), width: pick(0...2)),
                dilation: Size2D(height: pick(1...2), width: pick(1...2)), groups: groups)
            let channels = groups * pick(1...20)
            guard let g = try? Conv2DGeometry(inputShape: [pick(1...3), channels, pick(5...23), pick(5...37)],
                                              weightShape: [groups * pick(3...17), channels / groups, pick(1...4), pick(2...5)],
                                              options: options)
            else { continue }
            try check(g)
        }
        #expect(byTaps >= 5 && checked - byTaps >= 5, "both splits covered: \(byTaps) by taps of \(checked)")

        func check(_ g: Conv2DGeometry) throws {
            let device = DispatchDevice(threads: 2, fallback: nil, winograd: .never)
            #expect(device.directBackwardFilter.handles(g), "\(g)")
            checked += 1
            // Small partial sums make the default rule split positions; with the threshold at 0 the
            // tap split runs wherever it can.
            if DirectGEMMBackwardFilter(threads: 2, kernel: .best, smallPartialsBytes: 0).blocking(for: g).splitsTaps { byTaps += 1 }
            let input = Tensor.randomNormal(g.inputShape, seed: UInt64(checked))
            let gradOutput = Tensor.randomNormal(g.outputShape, seed: UInt64(100 + checked))
            let expected = TestDevices.naive.conv2dBackwardFilter(gradOutput: gradOutput, input: input, geometry: g)
            let actual = device.conv2dBackwardFilter(gradOutput: gradOutput, input: input, geometry: g)
            expectClose(actual.weight, expected.weight, absolute: 1e-3, relative: 1e-4, "\(g)")
            expectClose(actual.bias, expected.bias, absolute: 1e-3, relative: 1e-4, "\(g)")
            for kernel in GEMMKernel.available.filter(\.isNative) + [TestDevices.tinyBlocks] {
                #expect(DirectGEMMBackwardFilter(threads: 2, kernel: kernel).handles(g), "\(kernel) \(g)")
                for partials in [0, DirectGEMMBackwardFilter.defaultSmallPartialsBytes] {
                    let results = [1, 2, 3, 4].map {
                        DirectGEMMBackwardFilter(threads: $0, kernel: kernel, smallPartialsBytes: partials)
                            .backwardFilter(gradOutput: gradOutput, input: input, geometry: g)
                    }
                    expectClose(results[0], expected.weight, absolute: 1e-3, relative: 1e-4, "\(kernel) \(g)")
                    for i in 1..<results.count { expectIdentical(results[i], results[0], "\(kernel) at \(i + 1) threads \(g)") }
                }
            }
        }
    }

    /// How layers are split: positions when the partial sums are small; else taps when there are
    /// at least `minimumPanels` NR-tap panels, positions otherwise, and 1×1 layers by positions
    /// when a stretch reaches a depth block — the same at any thread count.
    @Test(.enabled(if: Self.hasNativeKernel, "needs AVX-512 or AVX2"))
    func choosesTheSplitByShapeAlone() throws {
        let wide = try Conv2DGeometry(inputShape: [1, 64, 8, 8], weightShape: [8, 64, 3, 3], options: Conv2DOptions(padding: 1))
        let narrow = try Conv2DGeometry(inputShape: [1, 3, 8, 8], weightShape: [8, 3, 3, 3], options: Conv2DOptions(padding: 1))
        let smallPointwise = try Conv2DGeometry(inputShape: [1, 256, 8, 8], weightShape: [8, 256, 1, 1], options: Conv2DOptions())
        let largePointwise = try Conv2DGeometry(inputShape: [1, 256, 56, 56], weightShape: [64, 256, 1, 1], options: Conv2DOptions())
        let large = try Conv2DGeometry(inputShape: [1, 256, 14, 14], weightShape: [256, 256, 3, 3], options: Conv2DOptions(padding: 1))
        for threads in 1...4 {
            let byDefault = DirectGEMMBackwardFilter(threads: threads, kernel: .best)
            #expect(byDefault.handles(wide) && !byDefault.blocking(for: wide).splitsTaps, "small partial sums: positions")
            #expect(byDefault.handles(large) && byDefault.blocking(for: large).splitsTaps, "18 MiB of partial sums: taps")
            let direct = DirectGEMMBackwardFilter(threads: threads, kernel: .best, smallPartialsBytes: 0)
            #expect(direct.handles(wide) && direct.blocking(for: wide).splitsTaps)
            #expect(direct.handles(narrow) && !direct.blocking(for: narrow).splitsTaps)
            #expect(direct.handles(smallPointwise) && direct.blocking(for: smallPointwise).splitsTaps)
            #expect(direct.handles(largePointwise) && !direct.blocking(for: largePointwise).splitsTaps)
        }
    }
}
