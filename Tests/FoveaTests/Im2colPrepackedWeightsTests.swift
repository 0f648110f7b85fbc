@testable import FoveaDispatch
import Fovea
@testable import FoveaKernels
import FoveaTestSupport
import Testing

/// The im2col backward-data with Wᵀ packed once per call (`PackedGEMM.prepacked`) gives the same
/// bits as packing it per image with the serial GEMM, agrees with naive, and falls back to per-image
/// packing when the packed weights do not fit the workspace limit.
@Suite("Im2col backward-data with Wᵀ packed once")
struct Im2colPrepackedWeightsTests {
    static let layers: [(input: Shape, weight: Shape, options: Conv2DOptions)] = [
        ([2, 12, 11, 9], [16, 12, 3, 3], Conv2DOptions(stride: 2, padding: 1)),
        ([3, 8, 10, 10], [20, 8, 5, 5], Conv2DOptions(padding: 2)),
        ([2, 12, 9, 9], [18, 4, 3, 3], Conv2DOptions(padding: 1, groups: 3)),
        ([1, 40, 7, 7], [70, 40, 3, 3], Conv2DOptions(stride: 2, padding: 1, dilation: 2)),
    ]

    @Test(arguments: [GEMMKernel.best, TestDevices.tinyBlocks])
    func sameBitsAsPackingPerImage(kernel: GEMMKernel) throws {
        for (input, weightShape, options) in Self.layers {
            let g = try Conv2DGeometry(inputShape: input, weightShape: weightShape, options: options)
            let dy = Tensor.randomNormal(g.outputShape, seed: 11)
            let w = Tensor.randomNormal(g.weightShape, seed: 12)
            for threads in [1, 2, 3] {
                let perImage = Im2colConvolution(threads: threads, gemm: PackedGEMM.serial(kernel: kernel))
                let once = Im2colConvolution(threads: threads, gemm: PackedGEMM.serial(kernel: kernel),
                                             prepackedGEMM: PackedGEMM.prepacked(kernel: kernel))
                #expect(once.prepackedWeights(g, plan: once.backwardDataPlan(g)) != nil, "\(g) packs Wᵀ once")
                let expected = perImage.backwardData(gradOutput: dy, weight: w, geometry: g)
                expectIdentical(once.backwardData(gradOutput: dy, weight: w, geometry: g), expected, "\(g) \(kernel.name) \(threads) threads")
                expectClose(expected, NaiveDevice().conv2dBackwardData(gradOutput: dy, weight: w, geometry: g),
                            absolute: 1e-4, relative: 1e-4, "\(g) against naive")
            }
        }
    }

    @Test func packsPerImageWhenThePackedWeightsDoNotFit() throws {
        let g = try Conv2DGeometry(inputShape: [2, 64, 8, 8], weightShape: [64, 64, 3, 3], options: Conv2DOptions(padding: 1))
        let limit = 64 << 10  // Wᵀ alone is 144 KiB
        let convolution = Im2colConvolution(threads: 2, workspaceLimitBytes: limit, gemm: PackedGEMM.serial(kernel: .best),
                                            prepackedGEMM: PackedGEMM.prepacked(kernel: .best))
        #expect(convolution.prepackedWeights(g, plan: convolution.backwardDataPlan(g)) == nil)
        #expect(convolution.workspaceBytes(for: g, pass: .backwardData) <= limit)
        let dy = Tensor.randomNormal(g.outputShape, seed: 3), w = Tensor.randomNormal(g.weightShape, seed: 4)
        expectClose(convolution.backwardData(gradOutput: dy, weight: w, geometry: g),
                    NaiveDevice().conv2dBackwardData(gradOutput: dy, weight: w, geometry: g), absolute: 1e-4, relative: 1e-4, "\(g)")
    }
}
