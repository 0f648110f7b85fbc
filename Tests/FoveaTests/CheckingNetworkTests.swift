import Fovea
import FoveaTestSupport
import Testing

/// The checking device under whole networks: the report names every leaf layer, and a wrong
/// backend stops the run with an error naming the layer, the operation and the shapes.
@Suite("Checking device on networks")
struct CheckingNetworkTests {
    static func batch(_ count: Int) -> Batch {
        Batch(images: Tensor.randomNormal([count, 1, 28, 28], seed: 21), labels: (0..<count).map { $0 % 10 })
    }

    /// One training step (forward, loss, backward, SGD) of cnn-bn on the checking device.
    static func trainStep(on device: any Device) throws -> Sequential {
        let model = try SmallModels.make("cnn-bn", seed: 3)
        let trainer = Trainer(model: model, optimizer: try SGD(model.allParameters, learningRate: 0.01), device: device)
        try trainer.trainStep(batch(4))
        return model
    }

    @Test(arguments: ["check:dispatch", "check:openblas"])
    func cnnTrainingStepIsCheckedPerLayer(_ name: String) throws {
        let backend = try Devices.make(String(name.dropFirst("check:".count)), threads: 2)
        let report = CheckReport()
        let device = CheckingDevice(subject: backend, reference: NaiveDevice(), report: report)
        let model = try Self.trainStep(on: device)

        let operations = Dictionary(grouping: report.entries, by: \.layer).mapValues { Set($0.map(\.operation)) }
        let expected: [String: Set<String>] = [
            // The trainer skips the input images' gradient (backwardWithoutInputGradient).
            "conv1": ["conv2dForward", "conv2dBackwardFilter"],
            "bn1": ["batchNormTraining+ReLU", "batchNormBackward+ReLU"],
            "pool1": ["maxPool2dForward", "maxPool2dBackward"],
            "conv2": ["conv2dForward", "conv2dBackwardFilter", "conv2dBackwardData"],
            "bn2": ["batchNormTraining+ReLU", "batchNormBackward+ReLU"],
            "pool2": ["maxPool2dForward", "maxPool2dBackward"],
            "fc1": ["linearForward", "linearBackward"],
            "relu3": ["activationForward", "activationBackward"],
            "dropout": ["multiply"],
            "fc2": ["linearForward", "linearBackward"],
            "loss": ["softmaxForward"],
        ]
        // Every leaf that computes has its rows: all but the reshape-only flatten and the two ReLUs
        // that run inside their batch norms' passes (LayerFusion).
        let leaves = model.namedLayers().filter { $0.layer.children.isEmpty && !($0.layer is Flatten) }.map(\.name)
        #expect(Set(leaves).union(["loss"]).subtracting(["relu1", "relu2"]) == Set(expected.keys))
        for (layer, ops) in expected {
            #expect(operations[layer] == ops, "\(layer): \(operations[layer] ?? [])")
        }
        for entry in report.entries {
            #expect(!entry.exceeded, "\(entry.layer) \(entry.operation): \(entry.discrepancy)")
            #expect(entry.calls == (entry.operation == "multiply" ? 2 : 1), "\(entry.layer) \(entry.operation)")
        }
        #expect(report.violations.isEmpty)
        let table = report.table()
        #expect(table.contains("conv2") && table.contains("conv2dBackwardFilter") && table.contains("4×32×14×14"))
    }

    /// A backend that gets one operation wrong is stopped by the layer that ran it. relu1 runs
    /// inside bn1's pass (the perturbing device's fused batch norm is the default composition,
    /// which calls its wrong `activationForward`), so bn1's fused operation is the one stopped.
    @Test(arguments: [(PerturbingDevice.Target.activationForward, "bn1", "batchNormTraining+ReLU", "input 4×32×28×28"),
                      (PerturbingDevice.Target.conv2dBackwardFilter, "conv2", "conv2dBackwardFilter", "weight 64×32×5×5")])
    func wrongBackendStopsWithANamedError(_ target: PerturbingDevice.Target, _ layer: String, _ operation: String, _ shapes: String) throws {
        let subject = PerturbingDevice(base: try Devices.make("dispatch", threads: 2), target: target, amount: 0.25)
        let device = CheckingDevice(subject: subject, reference: NaiveDevice())
        do {
            _ = try Self.trainStep(on: device)
            Issue.record("expected the check to fail")
        } catch let error as FoveaError {
            #expect(error.kind == .numerical)
            for part in ["check:perturbed-dispatch", "layer '\(layer)'", "op \(operation)", shapes, "differs from naive",
                         "max abs error", "max rel error", "FOVEA_CHECK_TOLERANCE"] {
                #expect(error.message.contains(part), "'\(part)' missing from: \(error.message)")
            }
        }
        let failing = device.report.entries.filter(\.exceeded)
        #expect(failing.map(\.layer) == [layer] && failing.map(\.operation) == [operation])
    }

    /// The tolerance decides: a 1e-7 slip in a weight gradient (on naive itself, so nothing else
    /// differs) passes the default and fails 1e-9.
    @Test func toleranceDecides() throws {
        func step(on device: any Device) throws {
            let model = try Sequential(named: [("conv", try Conv2D(1, 4, kernelSize: 3, padding: 1, seed: 1)), ("bn", try BatchNorm2D(4)),
                                           ("relu", ReLU()), ("flatten", Flatten()), ("fc", try Linear(4 * 8 * 8, 3, seed: 2))])
            let trainer = Trainer(model: model, optimizer: try SGD(model.allParameters, learningRate: 0.01), device: device)
            try trainer.trainStep(Batch(images: Tensor.randomNormal([2, 1, 8, 8], seed: 3), labels: [0, 2]))
        }
        let subject = PerturbingDevice(base: NaiveDevice(), target: .conv2dBackwardFilter, amount: 1e-7)
        try step(on: CheckingDevice(subject: subject, reference: NaiveDevice()))
        do {
            try step(on: CheckingDevice(subject: subject, reference: NaiveDevice(), tolerance: try CheckTolerance(relative: 1e-9)))
            Issue.record("expected the strict tolerance to fail")
        } catch let error as FoveaError {
            #expect(error.message.contains("layer 'conv', op conv2dBackwardFilter") && error.message.contains("1.0e-09"), "\(error.message)")
        }
    }

    /// A residual network's fused operations are attributed to the layers that run them: the
    /// block's skip connection and ReLU to its last batch norm, forward and backward, the sum of
    /// the two paths' gradients to its first convolution's backward-data; and adaptive pooling.
    @Test func residualBlockOperationsAreAttributed() throws {
        let model = try SmallModels.make("resnet-small", seed: 5)
        let report = CheckReport()
        let device = CheckingDevice(subject: try Devices.make("openblas", threads: 2), reference: NaiveDevice(), report: report)
        model.train()
        let output = try model.scopedForward(Tensor.randomNormal([2, 1, 28, 28], seed: 6), device: device)
        _ = try model.scopedBackward(Tensor.randomNormal(output.shape, seed: 7), device: device)
        let keys = Set(report.entries.map { "\($0.layer) \($0.operation)" })
        for key in ["layer1.0.conv1 conv2dBackwardData+residual", "layer2.0.downsample.0 conv2dForward", "layer3.1.conv2 conv2dBackwardData",
                    "avgpool adaptiveAvgPool2dForward", "avgpool adaptiveAvgPool2dBackward",
                    "layer1.0.bn2 batchNormTraining+residual+ReLU", "layer1.0.bn2 batchNormBackward+residual+ReLU"] {
            #expect(keys.contains(key), "\(key) missing")
        }
        #expect(report.violations.isEmpty, "\(report.violations)")
    }
}
