@testable import FoveaDispatch
import FoveaKernels
import Fovea
import FoveaTestSupport
import Testing

/// The Dispatch backend's pointwise forward with the output channels in the vector lanes
/// (`PointwiseConvolution`, AVX-512 only).
@Suite("Dispatch pointwise convolution")
struct PointwiseConvolutionTests {
    static let hasKernel = GEMMKernel.best.isAVX512

    /// naive's `epilogue(conv(x, w) + b (+ residual))`.
    static func reference(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, residual: Tensor?, _ epilogue: ConvolutionEpilogue,
                          _ g: Conv2DGeometry) -> Tensor {
        let naive = TestDevices.naive
        var y = naive.conv2dForward(input: x, weight: w, bias: bias, geometry: g)
        if let residual { y = naive.add(y, residual) }
        return epilogue == .relu ? naive.activationForward(.relu, input: y) : y
    }

    /// 1×1 layers of every size class the tile meets — 1 to 196 positions (whole tiles of 12,
    /// ragged ones, one position), 1 to 70 output channels (a panel of 32 with 1, 31 or 33 of them
    /// live), 1 to 300 input channels, batches 1–3, strides 1–3 (subsampled first) — with and
    /// without bias, residual and ReLU: agrees
    /// with naive, and is bit-identical at 1, 2, 3, 4 and 8 threads and with parts of a few
    /// positions (`partBytes` small enough that every image is cut into many parts).
    @Test(.enabled(if: Self.hasKernel, "the pointwise kernel needs AVX-512"))
    func agreesWithNaiveAndAcrossThreads() throws {
        var generator = SeededGenerator(seed: 1618)
        func pick(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
        var shapes: [(batch: Int, channels: Int, outputs: Int, height: Int, width: Int, stride: Size2D)] = [
            (1, 300, 33, 7, 7, 1), (1, 600, 40, 5, 5, 1), (2, 1, 1, 1, 1, 1), (1, 65, 32, 3, 4, 1), (3, 17, 70, 2, 6, 1), (1, 128, 31, 14, 14, 1),
            (2, 96, 64, 5, 8, 1), (1, 70, 40, 13, 13, 2), (2, 33, 20, 9, 14, Size2D(height: 3, width: 2)),
        ]
        while shapes.count < 28 {
            shapes.append((pick(1...3), pick(1...200), pick(1...70), pick(1...9), pick(1...9), Size2D(height: pick(1...3), width: pick(1...3))))
        }
        for (index, shape) in shapes.enumerated() {
            let g = try Conv2DGeometry(inputShape: [shape.batch, shape.channels, shape.height, shape.width],
                                       weightShape: [shape.outputs, shape.channels, 1, 1], options: Conv2DOptions(stride: shape.stride))
            let x = Tensor.randomNormal(g.inputShape, seed: UInt64(index))
            let w = Tensor.randomNormal(g.weightShape, standardDeviation: 0.2, seed: UInt64(100 + index))
            let bias = index % 3 == 0 ? nil : Tensor.randomNormal([g.outputChannels], seed: UInt64(200 + index))
            let residual = index % 4 < 2 ? nil : Tensor.randomNormal(g.outputShape, seed: UInt64(300 + index))
            let epilogue: ConvolutionEpilogue = index % 2 == 0 ? .relu : .none
            let context = "\(g), bias \(bias != nil), residual \(residual != nil), \(epilogue)"
            let single = PointwiseConvolution(threads: 1, kernel: .best, weightCache: nil)
            #expect(single.handles(g), "\(context)")
            let result = single.forward(input: x, weight: w, bias: bias, epilogue: epilogue, residual: residual, geometry: g,
                                        blocking: single.blocking(for: g))
            expectClose(result, Self.reference(x, w, bias, residual: residual, epilogue, g), absolute: 1e-4, relative: 1e-4, context)
            // The direct GEMM's bits: the same partial sums over kc-blocks, added in the same order.
            let direct = DirectGEMMConvolution(threads: 2, kernel: .best, weightCache: nil)
            expectIdentical(result, direct.forward(input: x, weight: w, bias: bias, epilogue: epilogue, residual: residual, geometry: g,
                                                   blocking: direct.blocking(for: g)),
                            "\(context) against the direct GEMM")
            for threads in [2, 3, 4, 8] {
                let driver = PointwiseConvolution(threads: threads, kernel: .best, weightCache: nil)
                let again = driver.forward(input: x, weight: w, bias: bias, epilogue: epilogue, residual: residual, geometry: g,
                                           blocking: driver.blocking(for: g))
                expectIdentical(again, result, "\(context) at \(threads) threads vs 1")
            }
            var narrow = PointwiseConvolution(threads: 3, kernel: .best, weightCache: nil)
            narrow.partBytes = 4 * shape.channels * 5  // parts of 5 positions
            let blocking = narrow.blocking(for: g)
            #expect(blocking.partSize <= 5 || g.outputHeight * g.outputWidth <= 5, "\(blocking)")
            expectIdentical(narrow.forward(input: x, weight: w, bias: bias, epilogue: epilogue, residual: residual, geometry: g,
                                           blocking: blocking),
                            result, "\(context), parts of 5 positions")
            // Every image cut by output channels too: 2 panels' worth per part where there are several.
            var byChannels = single.blocking(for: g)
            byChannels.channelParts = (g.outputChannels + 31) / 32
            byChannels.panelsPerPart = 1
            expectIdentical(single.forward(input: x, weight: w, bias: bias, epilogue: epilogue, residual: residual, geometry: g,
                                           blocking: byChannels),
                            result, "\(context), one panel per item")
        }
    }

    /// The epilogue's ReLU is `v < 0 ? 0 : v` as everywhere else: a NaN in the input reaches every
    /// output channel at its position (`max(0, NaN)` would have dropped it), negative sums become 0.
    @Test(.enabled(if: Self.hasKernel, "the pointwise kernel needs AVX-512"))
    func reluKeepsNaN() throws {
        let g = try Conv2DGeometry(inputShape: [1, 3, 2, 7], weightShape: [5, 3, 1, 1], options: Conv2DOptions())
        var x = Tensor.randomNormal(g.inputShape, seed: 4)
        x.withUnsafeMutableBufferPointer { $0[9] = .nan }  // channel 0, position 9
        let w = Tensor.randomNormal(g.weightShape, seed: 5)
        let driver = PointwiseConvolution(threads: 2, kernel: .best, weightCache: nil)
        let y = driver.forward(input: x, weight: w, bias: nil, epilogue: .relu, geometry: g, blocking: driver.blocking(for: g))
        let expected = TestDevices.naive.conv2dForward(input: x, weight: w, bias: nil, geometry: g)
        var negatives = 0
        y.withUnsafeBufferPointer { y in
            expected.withUnsafeBufferPointer { sums in
                for channel in 0..<5 {
                    for position in 0..<14 {
                        let (v, sum) = (y[channel * 14 + position], sums[channel * 14 + position])
                        if position == 9 {
                            #expect(v.isNaN, "channel \(channel)")
                        } else if sum < 0 {
                            negatives += 1
                            #expect(v == 0, "channel \(channel), position \(position): \(v) for \(sum)")
                        } else {
                            #expect(abs(v - sum) <= 1e-5 * max(1, abs(sum)), "channel \(channel), position \(position): \(v) for \(sum)")
                        }
                    }
                }
            }
        }
        #expect(negatives > 0)
    }

    /// Packed weights kept across calls (`PackedWeightCache`, kept on the second packing) give the
    /// bits the weights packed per call give, and a changed weight is packed anew.
    @Test(.enabled(if: Self.hasKernel, "the pointwise kernel needs AVX-512"))
    func keptWeightsGiveTheSameBits() throws {
        let g = try Conv2DGeometry(inputShape: [2, 90, 5, 5], weightShape: [40, 90, 1, 1], options: Conv2DOptions())
        let x = Tensor.randomNormal(g.inputShape, seed: 1)
        var w = Tensor.randomNormal(g.weightShape, seed: 2)
        let scale = Tensor.randomUniform([40], in: 0.5...2, seed: 3)
        let kept = PointwiseConvolution(threads: 2, kernel: .best, weightCache: PackedWeightCache(limitBytes: 1 << 20))
        let fresh = PointwiseConvolution(threads: 2, kernel: .best, weightCache: nil)
        for step in 0..<2 {
            let expected = fresh.forward(input: x, weight: w.scalingOutputChannels(by: scale), bias: nil, geometry: g,
                                         blocking: fresh.blocking(for: g))
            for call in 1...3 {
                let y = kept.forward(input: x, weight: w, outputScale: scale, bias: nil, geometry: g, blocking: kept.blocking(for: g))
                expectIdentical(y, expected, "weights \(step), call \(call)")
            }
            w.withUnsafeMutableBufferPointer { $0[7] += 1 }
        }
    }

    /// At batch 1 on two workers, layers whose weights outweigh the image's columns (K > P·Q) are
    /// cut by output channels, so each worker reads half the weights; the others by positions.
    @Test(.enabled(if: Self.hasKernel, "the pointwise kernel needs AVX-512"))
    func splitsWideLayersByChannels() throws {
        let driver = PointwiseConvolution(threads: 2, kernel: .best)
        func blocking(_ batch: Int, _ c: Int, _ k: Int, _ size: Int) throws -> PointwiseConvolution.Blocking {
            driver.blocking(for: try Conv2DGeometry(inputShape: [batch, c, size, size], weightShape: [k, c, 1, 1], options: Conv2DOptions()))
        }
        let layer4 = try blocking(1, 2048, 512, 7)
        // 2048 · 49 · 4 = 401 KB of columns: two position parts for the cache as well.
        #expect(layer4.channelParts == 2 && layer4.panelsPerPart == 8 && layer4.partsPerImage == 2, "\(layer4)")
        let layer3 = try blocking(1, 256, 1024, 14)
        #expect(layer3.channelParts == 2 && layer3.partsPerImage == 1, "\(layer3)")
        let layer2 = try blocking(1, 512, 128, 28)
        // 512 · 784 · 4 = 1.6 MB of columns: 7 parts for the cache, rounded up to a multiple of the 2 workers.
        #expect(layer2.channelParts == 1 && layer2.partsPerImage == 8 && layer2.partSize == 98, "\(layer2)")
        let batch8 = try blocking(8, 2048, 512, 7)
        #expect(batch8.channelParts == 1 && batch8.partsPerImage == 2, "\(batch8)")
    }

    /// The planner takes it for pointwise layers on at least 64 input channels (ResNet-50's
    /// bottleneck 1×1 layers, its strided downsamples and its 64-channel ones), and forcing it
    /// elsewhere is an error that says what it needs.
    @Test(.enabled(if: Self.hasKernel, "the pointwise kernel needs AVX-512"))
    func runsWhereItPays() throws {
        let device = DispatchDevice(threads: 2, fallback: nil)
        func geometry(_ c: Int, _ k: Int, _ size: Int, kernel: Int = 1, stride: Int = 1) throws -> Conv2DGeometry {
            try Conv2DGeometry(inputShape: [1, c, size, size], weightShape: [k, c, kernel, kernel],
                               options: Conv2DOptions(stride: Size2D(stride), padding: Size2D(kernel / 2)))
        }
        for (g, expected) in [
            (try geometry(1024, 256, 14), ConvolutionAlgorithm.pointwise), (try geometry(2048, 512, 7), .pointwise),
            (try geometry(128, 512, 28), .pointwise), (try geometry(65, 16, 9), .pointwise),
            (try geometry(256, 512, 56, stride: 2), .pointwise), (try geometry(1024, 2048, 14, stride: 2), .pointwise),
            (try geometry(64, 256, 56), .pointwise), (try geometry(64, 128, 56, stride: 2), .pointwise),
            (try geometry(63, 256, 56), .shiftedImage), (try geometry(32, 128, 56, stride: 2), .shiftedImage),
        ] {
            #expect(try device.convolutionPlan(for: g, pass: .forward).algorithm == expected, "\(g)")
        }
        let forced = DispatchDevice(threads: 2, fallback: nil, algorithms: ConvolutionAlgorithmOverride([.forward: .pointwise]))
        #expect {
            try forced.checkConvolutionPlan(for: try geometry(64, 64, 14, kernel: 3), pass: .forward)
        } throws: { error in
            "\(error)".contains("pointwise") && "\(error)".contains("1×1 kernel without padding")
        }
    }
}
