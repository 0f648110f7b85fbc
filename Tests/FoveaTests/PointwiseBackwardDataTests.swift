@testable import FoveaDispatch
import Fovea
import FoveaTestSupport
import Testing

/// A 1×1 unpadded layer's backward-data on dispatch runs as the direct forward GEMM with the
/// weight read transposed, spread over the stride's grid when the stride is not 1: it agrees with
/// naive, gives the same bits at any thread count and with tiny cache blocks, and is what the
/// planner chooses for 1×1 unpadded layers only.
@Suite("Pointwise backward-data as a direct GEMM")
struct PointwiseBackwardDataTests {
    @Test func matchesNaiveAtEveryThreadCount() throws {
        let layers: [(Shape, Int, Conv2DOptions)] = [
            ([1, 40, 9, 11], 24, Conv2DOptions()), ([3, 16, 6, 6], 50, Conv2DOptions()), ([2, 64, 14, 14], 13, Conv2DOptions()),
            // Strided: even and odd sizes (the last row and column of an odd one are read, of an
            // even one not), unequal strides.
            ([2, 24, 14, 14], 40, Conv2DOptions(stride: 2)), ([1, 20, 9, 11], 8, Conv2DOptions(stride: 2)),
            ([2, 12, 10, 9], 16, Conv2DOptions(stride: Size2D(height: 3, width: 2))),
        ]
        for (inputShape, outputs, options) in layers {
            let g = try Conv2DGeometry(inputShape: inputShape, weightShape: [outputs, inputShape[1], 1, 1], options: options)
            let dy = Tensor.randomNormal(g.outputShape, seed: 1)
            let w = Tensor.randomNormal(g.weightShape, seed: 2)
            let expected = NaiveDevice().conv2dBackwardData(gradOutput: dy, weight: w, geometry: g)
            for kernel in [GEMMKernel.best, TestDevices.tinyBlocks] {
                let one = DispatchDevice(threads: 1, fallback: nil, kernel: kernel)
                #expect(try one.convolutionPlan(for: g, pass: .backwardData).algorithm == .direct)
                let reference = one.conv2dBackwardData(gradOutput: dy, weight: w, geometry: g)
                expectClose(reference, expected, absolute: 1e-4, relative: 1e-4, "\(g) \(kernel.name)")
                for threads in [2, 3, 8] {
                    let device = DispatchDevice(threads: threads, fallback: nil, kernel: kernel)
                    expectIdentical(device.conv2dBackwardData(gradOutput: dy, weight: w, geometry: g), reference, "\(g) at \(threads) threads")
                }
            }
        }
    }

    @Test func onlyUnpaddedOneByOneLayersTakeIt() throws {
        let device = DispatchDevice(threads: 2, fallback: nil)
        for (kernel, options) in [(1, Conv2DOptions(padding: 1)), (1, Conv2DOptions(groups: 2)), (3, Conv2DOptions(stride: 2))] {
            let g = try Conv2DGeometry(inputShape: [1, 8, 8, 8], weightShape: [8, 8 / options.groups, kernel, kernel], options: options)
            #expect(try device.convolutionPlan(for: g, pass: .backwardData).algorithm != .direct, "\(kernel)×\(kernel) \(options)")
        }
    }
}
