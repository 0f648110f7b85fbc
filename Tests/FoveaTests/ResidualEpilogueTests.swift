@testable import FoveaDispatch
@testable import Fovea
import FoveaTestSupport
import Testing

/// `conv2dForward(…, residual:, epilogue:)`: a residual block's last convolution with the skip
/// connection added and the ReLU applied in the same pass. Each backend's fused result is its own
/// unfused `conv2dForward → add → activation`, bit for bit, and naive's within float tolerance.
@Suite("Residual convolution epilogue")
struct ResidualEpilogueTests {
    /// (input shape, weight shape, options): a batch of small outputs (Dispatch's direct GEMM
    /// stages them with images as columns), one image with a 1×1 layer, a stride-2 3×3 layer.
    static let geometries: [(input: Shape, weight: Shape, options: Conv2DOptions)] = [
        ([2, 8, 9, 9], [16, 8, 3, 3], Conv2DOptions(padding: 1)),
        ([1, 16, 12, 12], [24, 16, 1, 1], Conv2DOptions()),
        ([2, 6, 11, 11], [10, 6, 3, 3], Conv2DOptions(stride: 2, padding: 1)),
    ]

    /// Fused and unfused on `device`, for every geometry, with and without bias and ReLU.
    static func expectFusedMatchesUnfused(_ device: any Device, _ label: String, geometries: [Int]? = nil) throws {
        for index in geometries ?? Array(Self.geometries.indices) {
            let (inputShape, weightShape, options) = Self.geometries[index]
            let g = try Conv2DGeometry(inputShape: inputShape, weightShape: weightShape, options: options)
            let x = Tensor.randomNormal(inputShape, seed: UInt64(10 + index))
            let w = Tensor.randomNormal(weightShape, seed: UInt64(20 + index))
            let skip = Tensor.randomNormal(g.outputShape, seed: UInt64(30 + index))
            for bias in [nil, Tensor.randomNormal([weightShape[0]], seed: UInt64(40 + index))] {
                for epilogue in [ConvolutionEpilogue.none, .relu] {
                    let sum = device.add(device.conv2dForward(input: x, weight: w, bias: bias, geometry: g), skip)
                    let unfused = epilogue == .relu ? device.activationForward(.relu, input: sum) : sum
                    let fused = device.conv2dForward(input: x, weight: w, bias: bias, residual: skip, epilogue: epilogue, geometry: g)
                    let context = "\(label), \(g), bias \(bias != nil), \(epilogue)"
                    expectIdentical(fused, unfused, context)
                    let naive = NaiveDevice()
                    let naiveSum = naive.add(naive.conv2dForward(input: x, weight: w, bias: bias, geometry: g), skip)
                    let reference = epilogue == .relu ? naive.activationForward(.relu, input: naiveSum) : naiveSum
                    expectClose(fused, reference, absolute: 1e-4, relative: 1e-4, context)
                }
            }
        }
    }

    @Test(arguments: TestDevices.all)
    func everyBackendMatchesItsUnfusedComposition(device: LabeledDevice) throws {
        try Self.expectFusedMatchesUnfused(device.device, device.description)
    }

    /// Every forward algorithm of the Dispatch device, forced, including the four that add the
    /// residual per output tile (`direct`, `pointwise`, `channel-lanes`, `shifted-image`) and the ones that add it afterwards.
    @Test(arguments: [ConvolutionAlgorithm.direct, .pointwise, .channelLanes, .shiftedImage, .winograd2, .winograd4])
    func everyDispatchForwardAlgorithm(algorithm: ConvolutionAlgorithm) throws {
        for (device, runnable) in try Self.forcedDispatchDevices(algorithm, threads: [1, 2, 3, 8], geometries: Self.geometries) {
            try Self.expectFusedMatchesUnfused(device, "dispatch ×\(device.threadCount), \(algorithm)", geometries: runnable)
        }
    }

    /// Dispatch devices with `algorithm` forced for forward, one per thread count, each with the
    /// indices of `geometries` it runs (Winograd only the first, a stride-1 3×3 layer; pointwise
    /// only the 1×1, stride-1, unpadded ones), having checked that the plan of each is that
    /// algorithm. Where this CPU cannot run the algorithm (shifted-image with the portable kernel,
    /// pointwise and channel-lanes without AVX-512), it checks that forcing it is a clear error instead, and
    /// returns no device.
    static func forcedDispatchDevices(_ algorithm: ConvolutionAlgorithm, threads: [Int],
                                      geometries: [(input: Shape, weight: Shape, options: Conv2DOptions)]) throws -> [(DispatchDevice, [Int])] {
        try threads.compactMap { threads in
            let device = DispatchDevice(threads: threads, fallback: NaiveDevice(), algorithms: ConvolutionAlgorithmOverride([.forward: algorithm]))
            let runnable = try geometries.indices.filter { index in
                let (inputShape, weightShape, options) = geometries[index]
                let g = try Conv2DGeometry(inputShape: inputShape, weightShape: weightShape, options: options)
                return algorithm.winogradTileSize != nil ? index == 0 : algorithm != .pointwise || g.isPointwise
            }
            let cpuRunsIt = algorithm == .pointwise || algorithm == .channelLanes ? GEMMKernel.best.isAVX512
                : ShiftedImageConvolutionTests.hasShiftedImageKernel
            for index in runnable {
                let (inputShape, weightShape, options) = geometries[index]
                let g = try Conv2DGeometry(inputShape: inputShape, weightShape: weightShape, options: options)
                if device.planner.unavailability(of: algorithm, for: g, pass: .forward) != nil {
                    #expect(!cpuRunsIt, "\(algorithm) should run \(g) on \(device.kernel)")
                    #expect(throws: FoveaError.self) { try device.checkConvolutionPlan(for: g, pass: .forward) }
                    return nil
                }
                #expect(try device.convolutionPlan(for: g, pass: .forward).algorithm == algorithm)
            }
            return (device, runnable)
        }
    }

    /// A ResNet in evaluation mode adds every block's skip connection in its last convolution:
    /// no `add` or separate ReLU operation is left, and the logits match the unfused network.
    @Test func resNetBlocksAddTheirSkipConnectionInTheConvolution() throws {
        let model = try SmallModels.make("resnet-small", seed: 5)
        model.eval()
        let x = Tensor.randomNormal([2, 1, 28, 28], seed: 6)
        let device = try Devices.make("dispatch", threads: 2)
        let profiling = ProfilingDevice(subject: device)
        let fused = try LayerFusion.withFusion { try model.scopedForward(x, device: profiling) }
        let operations = profiling.log.all.map(\.operation)
        let blocks = model.namedLayers().filter { $0.layer is ResidualBlock }.count
        #expect(blocks > 0)
        #expect(operations.filter { $0 == "conv2dForward+residual+ReLU" }.count == blocks, "\(operations)")
        #expect(!operations.contains("add") && !operations.contains("activationForward"), "\(operations)")
        let unfused = try LayerFusion.withoutFusion { try model.scopedForward(x, device: device) }
        expectClose(fused, unfused, absolute: 1e-5, relative: 1e-5, "resnet-small logits")
    }

    /// A ResNet in training mode adds every block's skip connection in its last batch norm's pass
    /// (`batchNormTraining+residual+ReLU`), and that batch norm's backward applies the block's
    /// ReLU derivative for both paths (`batchNormBackward+residual+ReLU`); the logits, the
    /// loss's input gradient and every parameter gradient match the unfused network's.
    @Test(arguments: ["dispatch", "openblas", "naive"])
    func resNetTrainingAddsTheSkipConnectionInTheBatchNorm(backend: String) throws {
        let x = Tensor.randomNormal([3, 1, 28, 28], seed: 6)
        let device = try Devices.make(backend, threads: 2)
        func step(fused: Bool) throws -> (logits: Tensor, input: Tensor, gradients: [Tensor], operations: [String]) {
            let model = try SmallModels.make("resnet-small", seed: 5)
            model.train()
            let profiling = ProfilingDevice(subject: device)
            let run = { (body: () throws -> Tensor) in fused ? try LayerFusion.withFusion(body) : try LayerFusion.withoutFusion(body) }
            let logits = try run { try model.scopedForward(x, device: profiling) }
            let gradOutput = Tensor.randomNormal(logits.shape, seed: 7)
            let input = try run { try model.scopedBackward(gradOutput, device: profiling) }
            return (logits, input, model.namedParameters().map { $0.parameter.gradient ?? Tensor(zeros: $0.parameter.value.shape) },
                    profiling.log.all.map(\.operation))
        }
        let (fused, unfused) = (try step(fused: true), try step(fused: false))
        let blocks = try SmallModels.make("resnet-small", seed: 5).namedLayers().filter { $0.layer is ResidualBlock }.count
        #expect(blocks > 0)
        #expect(fused.operations.filter { $0 == "batchNormTraining+residual+ReLU" }.count == blocks, "\(fused.operations)")
        #expect(fused.operations.filter { $0 == "batchNormBackward+residual+ReLU" }.count == blocks, "\(fused.operations)")
        // Fused, no add is left: backward's sum of the two paths is the first convolution's.
        #expect(!fused.operations.contains("add"), "\(fused.operations)")
        #expect(fused.operations.filter { $0 == "conv2dBackwardData+residual" }.count == blocks, "\(fused.operations)")
        #expect(unfused.operations.filter { $0 == "add" }.count == 2 * blocks, "\(unfused.operations)")
        // Every ReLU's derivative is applied inside a batch norm's backward.
        #expect(!fused.operations.contains("activationBackward"), "\(fused.operations)")
        #expect(unfused.operations.filter { $0 == "activationBackward" }.count >= blocks, "\(unfused.operations)")
        expectClose(fused.logits, unfused.logits, absolute: 1e-5, relative: 1e-5, "\(backend) logits")
        expectClose(fused.input, unfused.input, absolute: 1e-5, relative: 1e-4, "\(backend) input gradient")
        #expect(fused.gradients.count == unfused.gradients.count)
        for (index, (a, b)) in zip(fused.gradients, unfused.gradients).enumerated() {
            expectClose(a, b, absolute: 1e-5, relative: 1e-4, "\(backend) gradient of parameter \(index)")
        }
    }

    /// Backward-data with a gradient added (a residual block's first convolution) is bit for bit
    /// the device's backward-data and add one after the other: Dispatch's direct plan of a 1×1
    /// stride-1 layer adds it per tile, the other plans after; every backend.
    @Test(arguments: TestDevices.all)
    func backwardDataAddingIsTheComposition(device: LabeledDevice) throws {
        let geometries = [
            try Conv2DGeometry(inputShape: [2, 40, 9, 11], weightShape: [24, 40, 1, 1], options: Conv2DOptions()),
            try Conv2DGeometry(inputShape: [1, 70, 5, 5], weightShape: [33, 70, 1, 1], options: Conv2DOptions()),
            try Conv2DGeometry(inputShape: [2, 8, 10, 10], weightShape: [16, 8, 3, 3], options: Conv2DOptions(padding: 1)),
            try Conv2DGeometry(inputShape: [2, 16, 12, 12], weightShape: [32, 16, 1, 1], options: Conv2DOptions(stride: 2)),
        ]
        let d = device.device
        for (index, g) in geometries.enumerated() {
            let gradOutput = Tensor.randomNormal(g.outputShape, seed: UInt64(10 + index))
            let weight = Tensor.randomNormal(g.weightShape, seed: UInt64(20 + index))
            let adding = Tensor.randomNormal(g.inputShape, seed: UInt64(30 + index))
            let fused = d.conv2dBackwardData(gradOutput: gradOutput, weight: weight, geometry: g, adding: adding)
            let unfused = d.add(d.conv2dBackwardData(gradOutput: gradOutput, weight: weight, geometry: g), adding)
            expectIdentical(fused, unfused, "\(device) \(g)")
        }
    }

    /// A skip connection of the wrong shape is an error naming the convolution, not a trap.
    @Test func residualOfTheWrongShapeIsAnError() throws {
        let conv = try Conv2D(2, 3, kernelSize: 1, bias: false, seed: 1)
        conv.eval()
        let device = try Devices.make("dispatch", threads: 1)
        do {
            _ = try conv.forward(Tensor.randomNormal([1, 2, 4, 4], seed: 2), device: device, folding: nil, epilogue: .relu,
                                 residual: Tensor.randomNormal([1, 3, 5, 5], seed: 3))
            Issue.record("expected a shape error")
        } catch let error as FoveaError {
            #expect(error.kind == .shapeMismatch && error.message.contains("residual") && error.message.contains("\(Shape([1, 3, 5, 5]))"), "\(error.message)")
        }
    }
}
