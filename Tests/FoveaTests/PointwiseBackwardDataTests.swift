@testable import FoveaDispatch
import Fovea
import FoveaTestSupport
import Testing

/// A pointwise layer's backward-data on dispatch runs as the direct forward GEMM with the weight
/// read transposed: it agrees with naive, gives the same bits at any thread count and with tiny
/// cache blocks, and is what the planner chooses for 1×1 stride-1 layers only.
@Suite("Pointwise backward-data as a direct GEMM")
struct PointwiseBackwardDataTests {
    @Test func matchesNaiveAtEveryThreadCount() throws {
        for (inputShape, outputs) in [(Shape([1, 40, 9, 11]), 24), (Shape([3, 16, 6, 6]), 50), (Shape([2, 64, 14, 14]), 13)] {
            let g = try Conv2DGeometry(inputShape: inputShape, weightShape: [outputs, inputShape[1], 1, 1], options: Conv2DOptions())
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

    @Test func onlyPointwiseLayersTakeIt() throws {
        let device = DispatchDevice(threads: 2, fallback: nil)
        for options in [Conv2DOptions(stride: 2), Conv2DOptions(padding: 1)] {
            let g = try Conv2DGeometry(inputShape: [1, 8, 8, 8], weightShape: [8, 8, 1, 1], options: options)
            #expect(try device.convolutionPlan(for: g, pass: .backwardData).algorithm != .direct, "\(options)")
        }
    }
}
