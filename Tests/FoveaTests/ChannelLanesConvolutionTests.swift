@testable import FoveaDispatch
import Fovea
import FoveaTestSupport
import Testing

/// The Dispatch backend's forward with the output channels in the vector lanes over the shifted
/// image's phase planes (`ChannelLanesConvolution`, AVX-512 only).
@Suite("Dispatch channel-lanes convolution")
struct ChannelLanesConvolutionTests {
    /// Random geometries — strides 1–4, padding at every border, dilation, 1×1 and non-square
    /// kernels, output rows of 1 to 40 positions (whole tiles of 12, ragged ones), 1 to 70 output
    /// channels, batches 1–3 — and ResNet's stem and 3×3/2 shapes in small, with and without bias,
    /// residual and ReLU: agrees with naive, and is bit-identical at 1, 2, 3, 4 and 8 threads and
    /// when cut into one weight panel per item.
    @Test(.enabled(if: PointwiseConvolutionTests.hasKernel, "the channel-lanes kernel needs AVX-512"))
    func agreesWithNaiveAndAcrossThreads() throws {
        var generator = SeededGenerator(seed: 3141)
        func pick(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
        var geometries = [
            try Conv2DGeometry(inputShape: [1, 3, 30, 33], weightShape: [40, 3, 7, 7], options: Conv2DOptions(stride: 2, padding: 3)),
            try Conv2DGeometry(inputShape: [2, 40, 14, 14], weightShape: [33, 40, 3, 3], options: Conv2DOptions(stride: 2, padding: 1)),
            try Conv2DGeometry(inputShape: [1, 70, 7, 7], weightShape: [64, 70, 3, 3], options: Conv2DOptions(padding: 1)),
            try Conv2DGeometry(inputShape: [2, 128, 4, 4], weightShape: [40, 128, 3, 3], options: Conv2DOptions(stride: 2, padding: 1)),
            try Conv2DGeometry(inputShape: [2, 5, 9, 40], weightShape: [7, 5, 1, 1], options: Conv2DOptions()),
            try Conv2DGeometry(inputShape: [1, 3, 47, 45], weightShape: [16, 3, 11, 11], options: Conv2DOptions(stride: 4, padding: 2)),
        ]
        while geometries.count < 36 {
            let options = Conv2DOptions(stride: Size2D(height: pick(1...4), width: pick(1...4)),
                                        padding: Size2D(height: pick(0...2), width: pick(0...2)),
                                        dilation: Size2D(height: pick(1...2), width: pick(1...2)))
            let channels = pick(1...24)
            if let g = try? Conv2DGeometry(inputShape: [pick(1...3), channels, pick(3...21), pick(3...40)],
                                           weightShape: [pick(1...70), channels, pick(1...4), pick(1...5)], options: options) {
                geometries.append(g)
            }
        }
        for (index, g) in geometries.enumerated() {
            let x = Tensor.randomNormal(g.inputShape, seed: UInt64(index))
            let w = Tensor.randomNormal(g.weightShape, standardDeviation: 0.2, seed: UInt64(100 + index))
            let bias = index % 3 == 0 ? nil : Tensor.randomNormal([g.outputChannels], seed: UInt64(200 + index))
            let residual = index % 4 < 2 ? nil : Tensor.randomNormal(g.outputShape, seed: UInt64(300 + index))
            let epilogue: ConvolutionEpilogue = index % 2 == 0 ? .relu : .none
            let context = "\(g), bias \(bias != nil), residual \(residual != nil), \(epilogue)"
            let single = ChannelLanesConvolution(threads: 1, kernel: .best)
            #expect(single.handles(g), "\(context)")
            let result = single.forward(input: x, weight: w, bias: bias, epilogue: epilogue, residual: residual, geometry: g,
                                        blocking: single.blocking(for: g))
            expectClose(result, PointwiseConvolutionTests.reference(x, w, bias, residual: residual, epilogue, g),
                        absolute: 1e-4, relative: 1e-4, context)
            // The direct GEMM's bits: the same partial sums over kc-blocks of taps, added in the same order.
            let direct = DirectGEMMConvolution(threads: 2, kernel: .best, weightCache: nil)
            expectIdentical(result, direct.forward(input: x, weight: w, bias: bias, epilogue: epilogue, residual: residual, geometry: g,
                                                   blocking: direct.blocking(for: g)),
                            "\(context) against the direct GEMM")
            for threads in [2, 3, 4, 8] {
                let driver = ChannelLanesConvolution(threads: threads, kernel: .best)
                expectIdentical(driver.forward(input: x, weight: w, bias: bias, epilogue: epilogue, residual: residual, geometry: g,
                                               blocking: driver.blocking(for: g)),
                                result, "\(context) at \(threads) threads vs 1")
            }
            var byPanels = single.blocking(for: g)
            byPanels.channelParts = (g.outputChannels + 31) / 32
            byPanels.panelsPerPart = 1
            expectIdentical(single.forward(input: x, weight: w, bias: bias, epilogue: epilogue, residual: residual, geometry: g,
                                           blocking: byPanels),
                            result, "\(context), one panel per item")
        }
    }

    /// Forcing it on a grouped layer is an error that says what it needs.
    @Test(.enabled(if: PointwiseConvolutionTests.hasKernel, "the channel-lanes kernel needs AVX-512"))
    func groupsAreAnError() throws {
        let device = DispatchDevice(threads: 2, fallback: nil, algorithms: ConvolutionAlgorithmOverride([.forward: .channelLanes]))
        let g = try Conv2DGeometry(inputShape: [1, 8, 9, 9], weightShape: [8, 4, 3, 3], options: Conv2DOptions(padding: 1, groups: 2))
        #expect {
            try device.checkConvolutionPlan(for: g, pass: .forward)
        } throws: { error in
            "\(error)".contains("channel-lanes") && "\(error)".contains("one group")
        }
    }
}
