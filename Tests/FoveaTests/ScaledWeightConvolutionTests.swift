@testable import FoveaDispatch
@testable import FoveaKernels
@testable import Fovea
import FoveaTestSupport
import Testing

/// `conv2dForward(input:prologue:weight:outputScale:…)`: a convolution with an evaluation-mode
/// batch norm's scale folded into its weight, given unfolded. Each backend's result is its own
/// unscaled variant run with `w′ = w.scalingOutputChannels(by: s)`, bit for bit, on every call
/// (the Dispatch device packs or transforms `w′` on the first calls and reuses it after).
@Suite("Convolution with a folded batch norm's scale")
struct ScaledWeightConvolutionTests {
    /// The residual tests' layers (a 3×3 layer, which Winograd can run, a pointwise layer at
    /// batch 1, a stride-2 3×3 layer) and a batch of small pointwise outputs (images as columns).
    static let geometries = ResidualEpilogueTests.geometries + [BatchNormPrologueTests.geometries[1]]

    /// The scaled call against the unscaled variant with `w′`, three times each (the third from
    /// the Dispatch device's kept preparation), with and without prologue, residual and ReLU.
    static func expectScaledMatchesFolded(_ device: any Device, _ label: String, geometries: [Int]? = nil) throws {
        for index in geometries ?? Array(Self.geometries.indices) {
            let (inputShape, weightShape, options) = Self.geometries[index]
            let g = try Conv2DGeometry(inputShape: inputShape, weightShape: weightShape, options: options)
            let x = Tensor.randomNormal(inputShape, seed: UInt64(10 + index))
            let w = Tensor.randomNormal(weightShape, seed: UInt64(20 + index))
            let bias = Tensor.randomNormal([weightShape[0]], seed: UInt64(40 + index))
            let skip = Tensor.randomNormal(g.outputShape, seed: UInt64(30 + index))
            let prologue = BatchNormPrologueTests.prologue(channels: inputShape[1], activation: .relu, seed: UInt64(50 + index))
            for scaleSeed in [60, 61] as [UInt64] {
                // A new scale for the same weight: its preparation must not be the first one's.
                let scale = Tensor.randomUniform([weightShape[0]], in: 0.25...2, seed: scaleSeed + UInt64(index))
                let folded = w.scalingOutputChannels(by: scale)
                for (prologue, residual, epilogue) in [(nil, nil, ConvolutionEpilogue.relu), (prologue, nil, .none),
                                                       (nil, skip, .relu), (prologue, skip, .relu)] {
                    let expected: Tensor
                    switch (prologue, residual) {
                    case (nil, nil): expected = device.conv2dForward(input: x, weight: folded, bias: bias, epilogue: epilogue, geometry: g)
                    case (let p?, nil): expected = device.conv2dForward(input: x, prologue: p, weight: folded, bias: bias, epilogue: epilogue, geometry: g)
                    case (let p, let r?):
                        let input = p.map { device.applying($0, to: x) } ?? x
                        expected = device.conv2dForward(input: input, weight: folded, bias: bias, residual: r, epilogue: epilogue, geometry: g)
                    }
                    let context = "\(label), \(g), prologue \(prologue != nil), residual \(residual != nil), \(epilogue), scale \(scaleSeed)"
                    for call in 1...3 {
                        let actual = device.conv2dForward(input: x, prologue: prologue, weight: w, outputScale: scale, bias: bias,
                                                          residual: residual, epilogue: epilogue, geometry: g)
                        expectIdentical(actual, expected, "\(context), call \(call)")
                    }
                }
            }
        }
    }

    @Test(arguments: TestDevices.all)
    func everyBackendMatchesTheFoldedWeight(device: LabeledDevice) throws {
        try Self.expectScaledMatchesFolded(device.device, device.description)
    }

    /// Every forward algorithm of the Dispatch device, forced, at several thread counts.
    @Test(arguments: [ConvolutionAlgorithm.direct, .pointwise, .channelLanes, .shiftedImage, .im2col, .winograd2, .winograd4])
    func everyDispatchForwardAlgorithm(algorithm: ConvolutionAlgorithm) throws {
        for (device, runnable) in try ResidualEpilogueTests.forcedDispatchDevices(algorithm, threads: [1, 2, 3, 8], geometries: Self.geometries) {
            try Self.expectScaledMatchesFolded(device, "dispatch ×\(device.threadCount), \(algorithm)", geometries: runnable)
        }
    }

    /// On a device that keeps prepared weights, a convolution folding a batch norm keeps only the
    /// scale and bias (no copy of `w′`); on one that does not, it keeps `w′`. The outputs agree
    /// with the unfolded layers either way, and follow a change of the batch norm's statistics.
    @Test func theLayerKeepsNoFoldedWeightWhereTheDeviceKeepsPreparedWeights() throws {
        for (device, keeps) in [(TestDevices.accelerated[0].device, true), (TestDevices.naive, false)] {
            #expect(device.keepsPreparedWeights == keeps)
            let model = try SmallModels.make("cnn-bn", seed: 3)
            model.eval()
            let x = Tensor.randomNormal([2, 1, 28, 28], seed: 4)
            let convolutions = model.namedLayers().compactMap { $0.layer as? Conv2D }
            #expect(!convolutions.isEmpty)
            for _ in 0..<3 {
                let fused = try LayerFusion.withFusion { try model.forward(x, device: device) }
                let unfused = try LayerFusion.withoutFusion { try model.forward(x, device: device) }
                expectClose(fused, unfused, absolute: 1e-5, relative: 1e-5, "\(device.name) logits")
            }
            for convolution in convolutions {
                #expect(convolution.foldedBatchNorm != nil, "\(convolution.displayName) folds a batch norm")
                #expect((convolution.foldedBatchNorm?.weight != nil) == !keeps, "\(device.name): \(convolution.displayName)")
            }
            // New running statistics: a new scale, so new prepared weights.
            for case let norm as BatchNorm2D in model.namedLayers().map(\.layer) {
                norm.runningVariance.value = Tensor.randomUniform([norm.channels], in: 0.5...4, seed: 9)
            }
            for _ in 0..<3 {
                let fused = try LayerFusion.withFusion { try model.forward(x, device: device) }
                let unfused = try LayerFusion.withoutFusion { try model.forward(x, device: device) }
                expectClose(fused, unfused, absolute: 1e-5, relative: 1e-5, "\(device.name) logits after new statistics")
            }
        }
    }

    /// A kept preparation of a weight with one scale is dropped when the same weight is kept
    /// with another scale (the batch norm's statistics changed); other weights' stay.
    @Test func anotherScaleSupersedesTheKeptPreparation() {
        let cache = PackedWeightCache(limitBytes: 1 << 20)
        let (weight, other) = (Tensor.randomNormal([4, 4], seed: 1), Tensor.randomNormal([4, 4], seed: 2))
        let (first, second) = (Tensor.randomNormal([4], seed: 3), Tensor.randomNormal([4], seed: 4))
        func key(_ w: Tensor, _ s: Tensor?) -> PackedWeightCache.Key {
            PackedWeightCache.Key(contents: w.contentStamp, scale: s?.contentStamp, kernel: "test", rows: 4, depth: 4, groups: 1)
        }
        cache.store(weight, for: key(weight, first))
        cache.store(other, for: key(other, first))
        #expect(cache.lookup(key(weight, first)) != nil)
        #expect(cache.lookup(key(weight, second)) == nil)
        cache.store(weight, for: key(weight, second))
        #expect(cache.lookup(key(weight, first)) == nil)
        #expect(cache.lookup(key(weight, second)) != nil)
        #expect(cache.lookup(key(other, first)) != nil)
        #expect(cache.storedBytes == 2 * 16 * MemoryLayout<Float>.stride)
    }
}
