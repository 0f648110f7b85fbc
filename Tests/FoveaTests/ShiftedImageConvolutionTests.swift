@testable import FoveaDispatch
import Fovea
import FoveaTestSupport
import Testing

/// The Dispatch backend's forward that reads the GEMM's B straight from the image's zero-padded
/// phase planes (`ShiftedImageConvolution`: AVX-512 12×32 and AVX2 6×16 kernels, not the portable one).
@Suite("Dispatch shifted-image convolution")
struct ShiftedImageConvolutionTests {
    /// Whether this CPU's best micro-kernel has a shifted-image variant (AVX-512 or AVX2).
    static let hasShiftedImageKernel = GEMMKernel.best.shiftedImage != nil

    /// Random geometries (strides 1–4, padding at every border, dilation, 1×1 and non-square kernels,
    /// channel counts that end mid-strip, depths past a depth block, batches 1–3), with and without
    /// bias and the ReLU epilogue: agrees with naive; bit-identical at 1, 2, 3, 4 and 8 threads, with tiny GEMM
    /// blocks (depth blocks of 5, the kernel's tail loop), and with the images padded one at a time.
    @Test(.enabled(if: Self.hasShiftedImageKernel, "needs AVX-512 or AVX2"))
    func agreesWithNaiveAndAcrossThreads() throws {
        var generator = SeededGenerator(seed: 2718)
        func pick(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
        var geometries = [
            try Conv2DGeometry(inputShape: [1, 40, 9, 11], weightShape: [29, 40, 3, 3], options: Conv2DOptions(padding: 1)),
            try Conv2DGeometry(inputShape: [2, 3, 20, 17], weightShape: [13, 3, 5, 3], options: Conv2DOptions(padding: Size2D(height: 2, width: 0))),
            try Conv2DGeometry(inputShape: [2, 70, 6, 7], weightShape: [25, 70, 1, 1], options: Conv2DOptions()),
            try Conv2DGeometry(inputShape: [1, 3, 47, 45], weightShape: [16, 3, 11, 11], options: Conv2DOptions(stride: 4, padding: 2)),
            try Conv2DGeometry(inputShape: [2, 3, 30, 33], weightShape: [14, 3, 7, 7], options: Conv2DOptions(stride: 2, padding: 3)),
        ]
        while geometries.count < 40 {
            let options = Conv2DOptions(stride: Size2D(height: pick(1...4), width: pick(1...4)),
                                        padding: Size2D(height: pick(0...2), width: pick(0...2)),
                                        dilation: Size2D(height: pick(1...2), width: pick(1...2)))
            let channels = pick(1...24)
            if let g = try? Conv2DGeometry(inputShape: [pick(1...3), channels, pick(3...21), pick(3...40)],
                                           weightShape: [pick(1...30), channels, pick(1...4), pick(1...5)], options: options) {
                geometries.append(g)
            }
        }
        for (index, g) in geometries.enumerated() {
            let input = Tensor.randomNormal(g.inputShape, seed: UInt64(index))
            let weight = Tensor.randomNormal(g.weightShape, standardDeviation: 0.2, seed: UInt64(100 + index))
            let bias = index % 3 == 0 ? nil : Tensor.randomNormal([g.outputChannels], seed: UInt64(200 + index))
            let epilogue: ConvolutionEpilogue = index % 2 == 0 ? .relu : .none
            var expected = TestDevices.naive.conv2dForward(input: input, weight: weight, bias: bias, geometry: g)
            if epilogue == .relu { expected = TestDevices.naive.activationForward(.relu, input: expected) }
            let single = ShiftedImageConvolution(threads: 1, kernel: .best)
            #expect(single.handles(g), "\(g)")
            let reference = single.forward(input: input, weight: weight, bias: bias, epilogue: epilogue, geometry: g)
            expectClose(reference, expected, absolute: 1e-4, relative: 1e-4, "\(g), bias \(bias != nil), \(epilogue)")
            for threads in [2, 3, 4, 8] {
                let result = ShiftedImageConvolution(threads: threads, kernel: .best)
                    .forward(input: input, weight: weight, bias: bias, epilogue: epilogue, geometry: g)
                expectIdentical(result, reference, "\(g) at \(threads) threads vs 1")
            }
            // One padded image at a time (a limit below two of them; `forward` does not check `handles`).
            let oneImage = ShiftedImageConvolution(threads: 2, kernel: .best, workspaceLimitBytes: 2 * 4 * g.inputChannels
                * (g.inputHeight + 2 * g.options.padding.height) * (g.inputWidth + 2 * g.options.padding.width) - 1)
            expectIdentical(oneImage.forward(input: input, weight: weight, bias: bias, epilogue: epilogue, geometry: g), reference,
                            "\(g), images padded one at a time")
            let tiny = ShiftedImageConvolution(threads: 3, kernel: TestDevices.tinyBlocks)
                .forward(input: input, weight: weight, bias: bias, epilogue: epilogue, geometry: g)
            expectClose(tiny, expected, absolute: 1e-4, relative: 1e-4, "\(g) with depth blocks of 5")
        }
    }

    /// Where the Dispatch device takes it (`pays`): small 1×1 layers and few-output layers whose
    /// padding drops few columns, strided or not; not wide 1×1 layers, small padded outputs or groups.
    @Test(.enabled(if: Self.hasShiftedImageKernel, "needs AVX-512 or AVX2"))
    func runsWhereItPays() throws {
        let planner = DispatchDevice(threads: 2, fallback: nil).planner
        func geometry(_ c: Int, _ k: Int, _ size: Int, _ kernel: Int, stride: Int = 1, groups: Int = 1) throws -> Conv2DGeometry {
            try Conv2DGeometry(inputShape: [1, c, size, size], weightShape: [k, c / groups, kernel, kernel],
                               options: Conv2DOptions(stride: Size2D(stride), padding: Size2D(kernel / 2), groups: groups))
        }
        #expect(planner.shiftedImagePays(try geometry(128, 32, 56, 3)))   // DenseNet growth
        #expect(planner.shiftedImagePays(try geometry(3, 64, 224, 3)))    // VGG16 first layer
        #expect(planner.shiftedImagePays(try geometry(64, 256, 56, 1)))   // ResNet 64→256 1×1
        #expect(!planner.shiftedImagePays(try geometry(512, 2048, 7, 1))) // wide 1×1
        #expect(!planner.shiftedImagePays(try geometry(384, 256, 13, 3))) // 13 of 15 columns kept, many outputs
        #expect(planner.shiftedImagePays(try geometry(3, 64, 224, 7, stride: 2)))  // ResNet stem
        #expect(!planner.shiftedImagePays(try geometry(256, 256, 56, 3, stride: 2)))  // many outputs
        #expect(!planner.shiftedImagePays(try geometry(64, 64, 56, 3, groups: 2)))
    }
}
