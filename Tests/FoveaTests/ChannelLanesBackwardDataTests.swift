@testable import FoveaDispatch
import Fovea
import FoveaTestSupport
import Testing

/// A stride-1 layer's backward-data on dispatch as the channel-lanes forward of ∂y with the
/// flipped, transposed weight (`ChannelLanesConvolution.backwardData`, AVX-512 only).
@Suite("Dispatch channel-lanes backward-data")
struct ChannelLanesBackwardDataTests {
    /// Random stride-1 geometries — padding from 0 to R − 1 (and unequal in height and width),
    /// non-square kernels, 1 to 70 input channels (whole and ragged 32-lane panels), batches 1–3 —
    /// and cnn-bn's conv2 in small: agrees with naive's backward-data, and gives the same bits
    /// at 1, 2, 3 and 8 threads.
    @Test(.enabled(if: PointwiseConvolutionTests.hasKernel, "the channel-lanes kernel needs AVX-512"))
    func agreesWithNaiveAndAcrossThreads() throws {
        var generator = SeededGenerator(seed: 2718)
        func pick(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
        var geometries = [
            try Conv2DGeometry(inputShape: [2, 32, 14, 14], weightShape: [64, 32, 5, 5], options: Conv2DOptions(padding: 2)),
            try Conv2DGeometry(inputShape: [1, 70, 7, 7], weightShape: [40, 70, 3, 3], options: Conv2DOptions(padding: 1)),
            try Conv2DGeometry(inputShape: [3, 5, 9, 12], weightShape: [7, 5, 2, 4], options: Conv2DOptions(padding: Size2D(height: 1, width: 3))),
        ]
        while geometries.count < 24 {
            let (rows, columns) = (pick(1...5), pick(1...5))
            let options = Conv2DOptions(padding: Size2D(height: pick(0...(rows - 1)), width: pick(0...(columns - 1))))
            let channels = pick(1...70)
            if let g = try? Conv2DGeometry(inputShape: [pick(1...3), channels, pick(3...17), pick(3...20)],
                                           weightShape: [pick(1...40), channels, rows, columns], options: options) {
                geometries.append(g)
            }
        }
        for (index, g) in geometries.enumerated() {
            let dy = Tensor.randomNormal(g.outputShape, seed: UInt64(index))
            let w = Tensor.randomNormal(g.weightShape, standardDeviation: 0.2, seed: UInt64(100 + index))
            let flipped = try #require(ChannelLanesConvolution.backwardDataGeometry(g), "\(g)")
            let single = ChannelLanesConvolution(threads: 1, kernel: .best)
            #expect(single.handles(flipped), "\(g)")
            let result = single.backwardData(gradOutput: dy, weight: w, geometry: g, blocking: single.blocking(for: flipped))
            #expect(result.shape == g.inputShape)
            expectClose(result, NaiveDevice().conv2dBackwardData(gradOutput: dy, weight: w, geometry: g),
                        absolute: 1e-4, relative: 1e-4, "\(g)")
            for threads in [2, 3, 8] {
                let driver = ChannelLanesConvolution(threads: threads, kernel: .best)
                expectIdentical(driver.backwardData(gradOutput: dy, weight: w, geometry: g, blocking: driver.blocking(for: flipped)),
                                result, "\(g) at \(threads) threads vs 1")
            }
        }
    }

    /// An empty batch plans and runs it too, and gives an empty ∂x of the input's shape.
    @Test(.enabled(if: PointwiseConvolutionTests.hasKernel, "the channel-lanes kernel needs AVX-512"))
    func emptyBatchGivesAnEmptyGradient() throws {
        let device = DispatchDevice(threads: 2, fallback: nil)
        let g = try Conv2DGeometry(inputShape: [0, 32, 14, 14], weightShape: [64, 32, 5, 5], options: Conv2DOptions(padding: 2))
        #expect(try device.convolutionPlan(for: g, pass: .backwardData).algorithm == .channelLanes)
        let result = device.conv2dBackwardData(gradOutput: Tensor(zeros: g.outputShape),
                                               weight: Tensor.randomNormal(g.weightShape, seed: 7), geometry: g)
        #expect(result.shape == g.inputShape && result.count == 0)
    }

    /// The planner takes it for stride-1 layers whose ∂x rows are narrower than 16 (cnn-bn's
    /// 5×5 conv2 at 14×14), runs it through the device, and leaves strided, dilated, grouped and
    /// over-padded layers to im2col; forcing it on those is an error that names what it needs.
    @Test(.enabled(if: PointwiseConvolutionTests.hasKernel, "the channel-lanes kernel needs AVX-512"))
    func plannedForNarrowStrideOneLayersOnly() throws {
        let device = DispatchDevice(threads: 2, fallback: nil)
        let conv2 = try Conv2DGeometry(inputShape: [4, 32, 14, 14], weightShape: [64, 32, 5, 5], options: Conv2DOptions(padding: 2))
        #expect(try device.convolutionPlan(for: conv2, pass: .backwardData).algorithm == .channelLanes)
        let dy = Tensor.randomNormal(conv2.outputShape, seed: 5)
        let w = Tensor.randomNormal(conv2.weightShape, standardDeviation: 0.1, seed: 6)
        expectClose(device.conv2dBackwardData(gradOutput: dy, weight: w, geometry: conv2),
                    NaiveDevice().conv2dBackwardData(gradOutput: dy, weight: w, geometry: conv2), absolute: 1e-4, relative: 1e-4, "conv2")

        let forcing = DispatchDevice(threads: 2, fallback: nil, algorithms: ConvolutionAlgorithmOverride([.backwardData: .channelLanes]))
        for options in [Conv2DOptions(stride: 2, padding: 1), Conv2DOptions(padding: 1, dilation: 2), Conv2DOptions(padding: 1, groups: 2),
                        Conv2DOptions(padding: 3)] {
            let g = try Conv2DGeometry(inputShape: [1, 8, 9, 9], weightShape: [8, 8 / options.groups, 3, 3], options: options)
            #expect(ChannelLanesConvolution.backwardDataGeometry(g) == nil, "\(options)")
            #expect(try device.convolutionPlan(for: g, pass: .backwardData).algorithm != .channelLanes, "\(options)")
            #expect {
                try forcing.checkConvolutionPlan(for: g, pass: .backwardData)
            } throws: { error in
                "\(error)".contains("channel-lanes") && "\(error)".contains("stride 1")
            }
        }
    }
}
