import Fovea
import FoveaTestSupport
import Testing

/// `ProfilingDevice` and `ModelProfiler`: results unchanged, every operation attributed to its
/// layer with its kind, algorithm and FLOPs, and the rows adding up to the wall-clock time.
@Suite("Profiling")
struct ProfilingTests {
    /// A profiled run returns the subject's results bit for bit, forward and backward.
    @Test(arguments: ["dispatch", "openblas"])
    func profilingChangesNoResult(backend: String) throws {
        let device = try Devices.make(backend, threads: 2)
        let input = Tensor.randomNormal([2, 1, 28, 28], seed: 3)
        let plain = try SmallModels.make("resnet-small", seed: 5)
        let profiled = try SmallModels.make("resnet-small", seed: 5)
        plain.train()
        profiled.train()
        let profiling = ProfilingDevice(subject: device)
        let expected = try plain.scopedForward(input, device: device)
        let actual = try profiled.scopedForward(input, device: profiling)
        expectIdentical(actual, expected, "\(backend) forward")
        let gradient = Tensor.randomNormal(expected.shape, seed: 4)
        expectIdentical(try profiled.scopedBackward(gradient, device: profiling), try plain.scopedBackward(gradient, device: device),
                        "\(backend) backward")
        #expect(!profiling.log.all.isEmpty)
    }

    /// One convolution: its record names the scope, the pass, the planned algorithm and
    /// `2·N·K·C·R·S·P·Q` FLOPs, written out here from the layer's numbers.
    @Test func convolutionRecordCarriesAlgorithmAndFLOPs() throws {
        let device = try Devices.make("dispatch", threads: 1)
        let profiling = ProfilingDevice(subject: device)
        let input = Tensor.randomNormal([2, 8, 10, 10], seed: 1), weight = Tensor.randomNormal([16, 8, 3, 3], seed: 2)
        _ = try OperationScope.run("block.conv", device: profiling) {
            try profiling.conv2d(input, weight: weight, options: Conv2DOptions(stride: 2, padding: 1))
        }
        let record = try #require(profiling.log.all.first)
        #expect(profiling.log.all.count == 1)
        #expect(record.layer == "block.conv" && record.operation == "conv2dForward")
        let expectedFLOPs: Double = 2 * 2 * 16 * 8 * 3 * 3 * 5 * 5  // 2·N·K·C·R·S·P·Q
        #expect(record.flops == expectedFLOPs)
        #expect(record.shapes == "2×8×10×10 → 2×16×5×5, 3×3/2", "\(record.shapes)")
        let geometry = try Conv2DGeometry(inputShape: input.shape, weightShape: weight.shape, options: Conv2DOptions(stride: 2, padding: 1))
        let planned = try (device as? any ConvolutionPlanning).map { try $0.convolutionPlan(for: geometry, pass: .forward).algorithm }
        #expect(planned != nil && record.kind.algorithm == planned)
        #expect(record.kind.family == "convolution" && record.kind.direction == "forward")
        #expect(record.seconds > 0)
        profiling.log.removeAll()
        _ = try profiling.conv2d(input, weight: weight)
        #expect(profiling.log.all.first?.layer == ProfilingDevice.outsideLayers)
    }

    /// A device without a planner (`naive`) gives convolutions no algorithm rather than a wrong one.
    @Test func naiveConvolutionsHaveNoAlgorithm() throws {
        let profiling = ProfilingDevice(subject: NaiveDevice())
        _ = try profiling.conv2d(Tensor.randomNormal([1, 2, 5, 5], seed: 1), weight: Tensor.randomNormal([3, 2, 3, 3], seed: 2))
        #expect(profiling.log.all.count == 1 && profiling.log.all[0].kind.algorithm == nil)
    }

    /// The forward profile of a residual network has one convolution row per `Conv2D` layer, under
    /// that layer's name; the kinds (with the time between operations) add up to the wall clock.
    @Test func forwardProfileAttributesEveryLayer() throws {
        let model = try SmallModels.make("resnet-small", seed: 5)
        let profile = try ModelProfiler.forward(model, input: Tensor.randomNormal([2, 1, 28, 28], seed: 6),
                                                device: try Devices.make("dispatch", threads: 2), runs: 2)
        let convolutionNames = Set(model.namedLayers().filter { $0.layer is Conv2D }.map(\.name))
        let convolutionRows = profile.layerRows.filter { $0.kind.family == "convolution" }
        #expect(Set(convolutionRows.map(\.layer)) == convolutionNames)
        #expect(convolutionRows.count == convolutionNames.count)
        #expect(convolutionRows.allSatisfy { $0.calls == 1 && $0.kind.algorithm != nil && ($0.gigaflopsPerSecond ?? 0) > 0 })
        // Each block's last convolution adds its skip connection (LayerFusion), under its own name.
        #expect(profile.layerRows.contains { $0.layer == "layer1.0.conv2" && $0.operation == "conv2dForward+residual+ReLU" })
        #expect(profile.phases.map(\.name) == ["forward"] && profile.runs == 2)
        let total = profile.kindRows.reduce(0) { $0 + $1.seconds }
        #expect(abs(total - profile.wallSeconds) <= 1e-9 * max(1, profile.wallSeconds))
        #expect(profile.operationSeconds <= profile.wallSeconds)
        #expect(profile.kindRows.last?.operation == "between operations")
    }

    /// A training step's profile has its four phases, which add up to the wall clock, the
    /// backward passes of every kind the network has, and the residual blocks' fused operations
    /// (their adds and ReLUs run inside batch norms and backward-data) under the layers that run them.
    @Test func trainingStepProfileHasPhasesAndBackwardPasses() throws {
        let model = try SmallModels.make("resnet-small", seed: 5)
        let optimizer = try SGD(model.allParameters, learningRate: 0.01, momentum: 0.9)
        let batch = Batch(images: Tensor.randomNormal([4, 1, 28, 28], seed: 6), labels: [0, 1, 2, 3])
        let profile = try ModelProfiler.trainingStep(model, batch: batch, optimizer: optimizer,
                                                     device: try Devices.make("openblas", threads: 2), runs: 2, warmUps: 0)
        #expect(profile.phases.map(\.name) == ["forward", "loss", "backward", "optimizer step"])
        #expect(abs(profile.phases.reduce(0) { $0 + $1.seconds } - profile.wallSeconds) <= 1e-12)
        let kinds = Set(profile.kindRows.map(\.kind.description))
        for expected in ["convolution im2col backward-filter", "batch norm forward", "batch norm backward",
                         "softmax forward", "linear backward"] {
            #expect(kinds.contains(expected), "\(expected) not in \(kinds.sorted())")
        }
        #expect(!kinds.contains("add forward"), "\(kinds.sorted())")
        #expect(profile.layerRows.contains { $0.layer == "layer1.0.bn2" && $0.operation == "batchNormTraining+residual+ReLU" })
        #expect(profile.layerRows.contains { $0.layer == "layer1.0.bn2" && $0.operation == "batchNormBackward+residual+ReLU" })
        #expect(profile.layerRows.contains { $0.layer == "layer1.0.conv1" && $0.operation == "conv2dBackwardData+residual" })
        #expect(kinds.contains { $0.hasPrefix("convolution") && $0.hasSuffix("backward-data") })
        #expect(profile.layerRows.contains { $0.layer == "loss" && $0.kind.family == "softmax" })
    }

    @Test func badRunCountsAreClearErrors() throws {
        let model = try SmallModels.make("cnn", seed: 1)
        let input = Tensor.randomNormal([1, 1, 28, 28], seed: 2)
        #expect(throws: FoveaError.self) { try ModelProfiler.forward(model, input: input, device: NaiveDevice(), runs: 0) }
        do {
            _ = try ModelProfiler.forward(model, input: input, device: NaiveDevice(), runs: 1, warmUps: -1)
            Issue.record("expected an error")
        } catch let error as FoveaError {
            #expect(error.kind == .invalidArgument && error.message.contains("warmUps"), "\(error.message)")
        }
        do {
            _ = try ModelProfiler.forward(model, input: Tensor.randomNormal([1, 3, 28, 28], seed: 2), device: NaiveDevice(), runs: 1)
            Issue.record("expected a shape error")
        } catch let error as FoveaError {
            #expect(error.kind == .shapeMismatch, "\(error.message)")
        }
    }
}
