@testable import FoveaDispatch
import Fovea
import FoveaTestSupport
import Testing

/// The Dispatch backend's backward-filter that broadcasts col's rows straight from the zero-padded
/// image (`ShiftedImageBackwardFilter`, with the AVX-512 12×32 or AVX2 6×16 kernel).
@Suite("Dispatch shifted-image backward-filter")
struct ShiftedImageBackwardFilterTests {
    /// The C kernels the CPU runs: each has a shifted-rows tile.
    static let nativeKernels = GEMMKernel.available.filter(\.isNative)

    /// Random stride-1 geometries (padding at every border, dilation, 1×1 and non-square kernels,
    /// output channels that end mid-panel and past one panel, positions past a depth block,
    /// batches 1–3): agrees with naive; bit-identical at 1–4 threads and with depth blocks of 5
    /// (the kernel's short blocks and gaps that straddle them); for each C kernel the CPU runs,
    /// over the padded image and over column-shifted copies.
    @Test(.enabled(if: !Self.nativeKernels.isEmpty, "needs AVX-512 or AVX2"),
          arguments: Self.nativeKernels, [false, true])
    func agreesWithNaiveAndAcrossThreads(kernel: GEMMKernel, compacts: Bool) throws {
        var generator = SeededGenerator(seed: 1618)
        func pick(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
        var geometries = [
            try Conv2DGeometry(inputShape: [2, 40, 17, 19], weightShape: [32, 40, 3, 3], options: Conv2DOptions(padding: 1)),
            try Conv2DGeometry(inputShape: [1, 9, 30, 31], weightShape: [45, 9, 3, 3], options: Conv2DOptions(padding: Size2D(height: 2, width: 0))),
            try Conv2DGeometry(inputShape: [3, 30, 6, 7], weightShape: [64, 30, 1, 1], options: Conv2DOptions()),
        ]
        while geometries.count < 30 {
            let options = Conv2DOptions(padding: Size2D(height: pick(0...2), width: pick(0...2)),
                                        dilation: Size2D(height: pick(1...2), width: pick(1...2)))
            let channels = pick(1...24)
            if let g = try? Conv2DGeometry(inputShape: [pick(1...3), channels, pick(3...21), pick(3...40)],
                                           weightShape: [pick(1...70), channels, pick(1...4), pick(1...5)], options: options) {
                geometries.append(g)
            }
        }
        for (index, g) in geometries.enumerated() {
            let input = Tensor.randomNormal(g.inputShape, seed: UInt64(index))
            let gradOutput = Tensor.randomNormal(g.outputShape, seed: UInt64(300 + index))
            let expected = TestDevices.naive.conv2dBackwardFilter(gradOutput: gradOutput, input: input, geometry: g).weight
            let single = ShiftedImageBackwardFilter(threads: 1, kernel: kernel, forcedCompaction: compacts)
            #expect(single.handles(g), "\(g)")
            #expect(single.blocking(for: g).compactsColumns == compacts, "\(g)")
            let reference = single.backwardFilter(gradOutput: gradOutput, input: input, geometry: g)
            expectClose(reference, expected, absolute: 1e-3, relative: 1e-4, "\(kernel) \(g)")
            for threads in 2...4 {
                let result = ShiftedImageBackwardFilter(threads: threads, kernel: kernel, forcedCompaction: compacts)
                    .backwardFilter(gradOutput: gradOutput, input: input, geometry: g)
                expectIdentical(result, reference, "\(kernel) \(g) at \(threads) threads vs 1")
            }
            let tiny = ShiftedImageBackwardFilter(threads: 3, kernel: kernel.withBlocking(mc: kernel.mr, kc: 5, nc: 2 * kernel.nr),
                                                  forcedCompaction: compacts)
                .backwardFilter(gradOutput: gradOutput, input: input, geometry: g)
            expectClose(tiny, expected, absolute: 1e-3, relative: 1e-4, "\(kernel) \(g) with depth blocks of 5")
        }
    }

    /// Where the Dispatch device takes it (`DispatchConvolutionPlanner.shiftedRowsPays`): stride 1, one group, at most 64 outputs, at
    /// least 256 taps; and the device's gradient is this path's, bit for bit.
    @Test(.enabled(if: !Self.nativeKernels.isEmpty, "needs AVX-512 or AVX2"))
    func runsWhereItPays() throws {
        func geometry(_ c: Int, _ k: Int, _ size: Int, _ kernel: Int, stride: Int = 1, groups: Int = 1) throws -> Conv2DGeometry {
            try Conv2DGeometry(inputShape: [1, c, size, size], weightShape: [k, c / groups, kernel, kernel],
                               options: Conv2DOptions(stride: Size2D(stride), padding: Size2D(kernel / 2), groups: groups))
        }
        let shifted = ShiftedImageBackwardFilter(threads: 2, kernel: .best)
        let planner = DispatchDevice(threads: 2, fallback: nil).planner
        #expect(planner.shiftedRowsPays(try geometry(128, 32, 56, 3)))    // DenseNet growth
        #expect(planner.shiftedRowsPays(try geometry(64, 64, 56, 3)))     // ResNet 64→64 3×3
        #expect(planner.shiftedRowsPays(try geometry(256, 64, 56, 1)))    // ResNet 256→64 1×1
        #expect(!planner.shiftedRowsPays(try geometry(3, 64, 224, 3)))    // 27 taps
        #expect(!planner.shiftedRowsPays(try geometry(64, 64, 56, 1)))    // 64 taps
        #expect(!planner.shiftedRowsPays(try geometry(128, 128, 28, 3)))  // 128 outputs
        #expect(!planner.shiftedRowsPays(try geometry(64, 64, 56, 3, stride: 2)))
        #expect(!planner.shiftedRowsPays(try geometry(64, 64, 56, 3, groups: 2)))
        // Column-shifted copies where the padding columns cost more than copying S images.
        #expect(shifted.compactsColumns(try Conv2DGeometry(inputShape: [64, 32, 14, 14], weightShape: [64, 32, 5, 5],
                                                           options: Conv2DOptions(padding: 2))))  // Fashion-MNIST cnn conv2
        #expect(!shifted.compactsColumns(try geometry(128, 32, 14, 3)))  // DenseNet growth at 14×14
        #expect(!shifted.compactsColumns(try geometry(128, 32, 7, 3)))   // and at 7×7
        #expect(!shifted.compactsColumns(try geometry(64, 64, 56, 3)))   // 2 of 58 columns
        #expect(!shifted.compactsColumns(try geometry(256, 64, 56, 1)))  // no padding columns
        let device = DispatchDevice(threads: 2, fallback: nil)
        let g = try Conv2DGeometry(inputShape: [2, 40, 12, 13], weightShape: [20, 40, 3, 3], options: Conv2DOptions(padding: 1))
        #expect(device.chosen(g, .backwardFilter) == .shiftedRows)
        let (input, gradOutput) = (Tensor.randomNormal(g.inputShape, seed: 1), Tensor.randomNormal(g.outputShape, seed: 2))
        expectIdentical(device.conv2dBackwardFilter(gradOutput: gradOutput, input: input, geometry: g).weight,
                        shifted.backwardFilter(gradOutput: gradOutput, input: input, geometry: g), "device vs path")
    }
}
