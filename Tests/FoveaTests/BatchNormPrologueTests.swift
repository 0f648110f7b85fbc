@testable import FoveaDispatch
import Fovea
import FoveaTestSupport
import Testing

/// `conv2dForward(input:prologue:…)`: a pre-activation convolution whose input batch norm and
/// activation are applied as the convolution reads it. Each backend's result is its own
/// `batchNormInference(…, activation:)` followed by the convolution, bit for bit.
@Suite("Batch-norm prologue of a convolution")
struct BatchNormPrologueTests {
    static func prologue(channels: Int, activation: Activation?, seed: UInt64) -> BatchNormPrologue {
        BatchNormPrologue(scale: Tensor.randomUniform([channels], in: 0.5...1.5, seed: seed),
                          shift: Tensor.randomNormal([channels], seed: seed &+ 1),
                          runningMean: Tensor.randomNormal([channels], seed: seed &+ 2),
                          runningVariance: Tensor.randomUniform([channels], in: 0.2...2, seed: seed &+ 3),
                          epsilon: 1e-5, activation: activation)
    }

    /// Pointwise layers at batch 1 and a batch of small outputs (Dispatch stages them with images
    /// as columns), 40 input channels (several depth blocks with tiny GEMM blocks), and a 3×3 layer,
    /// whose padding the prologue must not touch (composed instead).
    static let geometries: [(input: Shape, weight: Shape, options: Conv2DOptions)] = [
        ([1, 40, 9, 11], [24, 40, 1, 1], Conv2DOptions()),
        ([3, 40, 6, 6], [16, 40, 1, 1], Conv2DOptions()),
        ([2, 8, 7, 7], [12, 8, 3, 3], Conv2DOptions(padding: 1)),
    ]

    /// The prologue's activation, the bias and the epilogue of each case: ReLU on both sides, a
    /// bias without activations, a leaky ReLU (which no fused path applies itself).
    static func fusions(outputs: Int) -> [(activation: Activation?, bias: Tensor?, epilogue: ConvolutionEpilogue)] {
        [(.relu, nil, .relu), (nil, Tensor.randomNormal([outputs], seed: 5), .none), (.leakyReLU(negativeSlope: 0.1), nil, .none)]
    }

    static func expectFusedMatchesComposition(_ device: any Device, _ label: String) throws {
        for (index, (inputShape, weightShape, options)) in geometries.enumerated() {
            let g = try Conv2DGeometry(inputShape: inputShape, weightShape: weightShape, options: options)
            let x = Tensor.randomNormal(inputShape, seed: UInt64(index + 1))
            let w = Tensor.randomNormal(weightShape, seed: UInt64(index + 11))
            for (activation, bias, epilogue) in Self.fusions(outputs: weightShape[0]) {
                let prologue = Self.prologue(channels: inputShape[1], activation: activation, seed: UInt64(20 + index))
                let expected = device.conv2dForward(input: device.applying(prologue, to: x), weight: w, bias: bias, epilogue: epilogue, geometry: g)
                let actual = device.conv2dForward(input: x, prologue: prologue, weight: w, bias: bias, epilogue: epilogue, geometry: g)
                expectIdentical(actual, expected, "\(label), \(g), \(String(describing: activation)), \(epilogue)")
            }
        }
    }

    @Test(arguments: TestDevices.all)
    func everyBackendMatchesItsComposition(device: LabeledDevice) throws {
        try Self.expectFusedMatchesComposition(device.device, device.description)
    }

    /// Dispatch's direct GEMM applies the prologue while packing, at every thread count and with
    /// tiny cache blocks (a depth block boundary inside the channels).
    @Test func dispatchDirectAppliesItWhilePacking() throws {
        for threads in [1, 2, 3, 8] {
            for kernel in [GEMMKernel.best, TestDevices.tinyBlocks] {
                let device = DispatchDevice(threads: threads, fallback: NaiveDevice(), kernel: kernel,
                                            algorithms: ConvolutionAlgorithmOverride([.forward: .direct]))
                try Self.expectFusedMatchesComposition(device, "dispatch ×\(threads) direct \(kernel.name)")
            }
        }
    }

    /// DenseNet's dense layer in evaluation mode: norm1 → relu1 run inside conv1 (no separate batch
    /// norm operation), and the output matches the unfused layer.
    @Test func denseLayerNormalizesInsideItsBottleneck() throws {
        let layer = try DenseLayer(inputChannels: 24, growthRate: 8, seed: 3)
        for (index, entry) in layer.namedLayers().enumerated() {
            if let norm = entry.layer as? BatchNorm2D { LayerFusionTests.randomize(norm, seed: UInt64(index)) }
        }
        try Self.expectFused(layer, input: Tensor.randomNormal([2, 24, 10, 10], seed: 4),
                             operations: ["batchNorm+conv2dForward+ReLU", "conv2dForward"], "dense layer")
    }

    /// `layer` in evaluation mode with fusion on runs exactly `operations` on dispatch, and gives
    /// the output of the unfused layer.
    static func expectFused(_ layer: Layer, input x: Tensor, operations expected: [String], _ label: String) throws {
        layer.eval()
        let profiling = ProfilingDevice(subject: try Devices.make("dispatch", threads: 2))
        let fused = try LayerFusion.withFusion { try layer.scopedForward(x, device: profiling) }
        let operations = profiling.log.all.map(\.operation)
        #expect(operations == expected, "\(label): \(operations)")
        let unfused = try LayerFusion.withoutFusion { try layer.forward(x, device: try Devices.make("dispatch", threads: 2)) }
        expectClose(fused, unfused, absolute: 1e-5, relative: 1e-4, label)
    }

    /// Average pooling with the prologue (DenseNet's transition in evaluation mode) equals each
    /// backend's own batch norm followed by its pooling, bit for bit: 2×2 windows at stride 2 on
    /// widths that leave tails after Dispatch's eight-at-a-time path (and odd sizes, whose last row
    /// and column floor mode drops), and padded 3×3 windows with and without the padding counted.
    @Test(arguments: TestDevices.all)
    func poolingMatchesItsComposition(device: LabeledDevice) throws {
        let cases: [(input: Shape, options: Pool2DOptions)] = [
            ([2, 5, 8, 40], Pool2DOptions(kernel: 2, stride: 2)),
            ([1, 3, 9, 37], Pool2DOptions(kernel: 2, stride: 2)),
            ([2, 4, 7, 9], Pool2DOptions(kernel: 3, stride: 2, padding: 1)),
            ([1, 4, 7, 9], Pool2DOptions(kernel: 3, stride: 2, padding: 1, countIncludesPadding: false)),
        ]
        for (index, (shape, options)) in cases.enumerated() {
            let g = try Pool2DGeometry(inputShape: shape, options: options)
            let x = Tensor.randomNormal(shape, seed: UInt64(index + 40))
            for activation in [Activation.relu, nil, .leakyReLU(negativeSlope: 0.1)] {
                let prologue = Self.prologue(channels: shape[1], activation: activation, seed: UInt64(60 + index))
                let expected = device.device.avgPool2dForward(input: device.device.applying(prologue, to: x), geometry: g)
                let actual = device.device.avgPool2dForward(input: x, prologue: prologue, geometry: g)
                expectIdentical(actual, expected, "\(device.description), \(g), \(String(describing: activation))")
            }
        }
    }

    /// DenseNet's transition in evaluation mode: norm → relu run inside the pooling (no separate
    /// batch norm operation), which runs before the 1×1 convolution, and the output matches the
    /// unfused transition.
    @Test func transitionNormalizesInsideItsPooling() throws {
        let transition = try Transition(inputChannels: 12, outputChannels: 6, seed: 5)
        for entry in transition.namedLayers() {
            if let norm = entry.layer as? BatchNorm2D { LayerFusionTests.randomize(norm, seed: 9) }
        }
        try Self.expectFused(transition, input: Tensor.randomNormal([2, 12, 14, 18], seed: 6),
                             operations: ["batchNorm+avgPool2dForward", "conv2dForward"], "transition")
    }

    /// Dispatch's fused pooling gives the same bits at 1, 2, 3 and 8 threads (2×2/2 and padded 3×3/2).
    @Test func fusedPoolingDoesNotDependOnTheThreadCount() throws {
        for (index, options) in [Pool2DOptions(kernel: 2, stride: 2), Pool2DOptions(kernel: 3, stride: 2, padding: 1)].enumerated() {
            let x = Tensor.randomNormal([2, 6, 14, 30], seed: UInt64(80 + index))
            let g = try Pool2DGeometry(inputShape: x.shape, options: options)
            let prologue = Self.prologue(channels: 6, activation: .relu, seed: UInt64(90 + index))
            let results = try [1, 2, 3, 8].map { threads in
                try Devices.make("dispatch", threads: threads).avgPool2dForward(input: x, prologue: prologue, geometry: g)
            }
            for (threads, result) in zip([2, 3, 8], results.dropFirst()) { expectIdentical(result, results[0], "\(g) ×\(threads)") }
        }
    }
}
