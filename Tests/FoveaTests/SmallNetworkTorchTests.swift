import Foundation
import Fovea
import FoveaTestSupport
import Testing

/// Two small networks against PyTorch, on every backend — one with ResNet's building blocks
/// (conv → BN → ReLU → max pool → basic block with projection → global average pool → linear),
/// one with DenseNet's (conv → BN → ReLU → dense block → transition → BN → ReLU → global average
/// pool → linear) — each with softmax cross-entropy: logits, loss, every parameter gradient, and
/// every parameter and buffer after three SGD-with-momentum steps. Reference values from
/// `Scripts/make_torch_fixtures.py` (`Fixtures/small_network_torch.json`).
///
/// Tolerances: logits and loss 1e-4 absolute + 1e-4 relative; gradients 1e-4 + 1e-3 relative;
/// parameters and buffers after three SGD steps 1e-4 + 1e-3 relative.
@Suite("Small network against PyTorch")
struct SmallNetworkTorchTests {
    struct Document: Decodable {
        var format_version: Int
        var networks: [String: Network]
    }

    struct Network: Decodable {
        var input_shape: [Int]
        var input: [Float]
        var labels: [Int]
        var shapes: [String: [Int]]
        var initial_state: [String: [Float]]
        var logits: [Float]
        var loss: Float
        var losses_per_step: [Float]
        var gradients: [String: [Float]]
        var state_after_sgd: [String: [Float]]
    }

    static func load(_ network: String) throws -> Network {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/small_network_torch.json")
        let document = try JSONDecoder().decode(Document.self, from: Data(contentsOf: url))
        guard document.format_version == 2, let result = document.networks[network] else {
            throw FoveaError(.corruptFile, "\(url.path): format version \(document.format_version) without '\(network)', expected version 2; re-run Scripts/make_torch_fixtures.py")
        }
        return result
    }

    static let networks = ["small_resnet", "small_densenet"]

    static func makeModel(_ network: String) throws -> Sequential {
        try network == "small_resnet" ? makeResNet() : makeDenseNet()
    }

    /// The Fovea twin of the script's `SmallDenseNet`, with PyTorch's parameter names.
    static func makeDenseNet() throws -> Sequential {
        try Sequential(named: [
            ("features", try Sequential(named: [
                ("conv0", try Conv2D(3, 8, kernelSize: 3, padding: 1, bias: false)),
                ("norm0", try BatchNorm2D(8)),
                ("relu0", ReLU()),
                ("denseblock1", try DenseBlock(layers: 2, inputChannels: 8, growthRate: 4, bottleneckWidth: 2)),
                ("transition1", try Transition(inputChannels: 16, outputChannels: 8)),
                ("norm5", try BatchNorm2D(8)),
            ])),
            ("relu", ReLU()),
            ("avgpool", try AdaptiveAvgPool2D(outputSize: 1)),
            ("flatten", Flatten()),
            ("classifier", try Linear(8, 5)),
        ])
    }

    /// The Fovea twin of the script's `SmallResNet`, with PyTorch's parameter names.
    static func makeResNet() throws -> Sequential {
        try Sequential(named: [
            ("conv1", try Conv2D(3, 8, kernelSize: 3, padding: 1, bias: false)),
            ("bn1", try BatchNorm2D(8)),
            ("relu", ReLU()),
            ("maxpool", try MaxPool2D(kernelSize: 3, stride: 2, padding: 1)),
            ("layer1", Sequential([try BasicBlock(8, 16, stride: 2)])),
            ("avgpool", try AdaptiveAvgPool2D(outputSize: 1)),
            ("flatten", Flatten()),
            ("fc", try Linear(16, 5)),
        ])
    }

    static func tensors(_ values: [String: [Float]], shapes: [String: [Int]]) -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: values.map { name, scalars in
            (name, Tensor(shape: Shape(shapes[name]!), scalars: scalars))
        })
    }

    @Test(arguments: TestDevices.all, networks)
    func forwardGradientsAndThreeSGDSteps(device: LabeledDevice, network: String) throws {
        let reference = try Self.load(network)
        let model = try Self.makeModel(network)
        try model.loadStateDict(Self.tensors(reference.initial_state, shapes: reference.shapes))
        let input = Tensor(shape: Shape(reference.input_shape), scalars: reference.input)
        let loss = SoftmaxCrossEntropy()
        let optimizer = try SGD(model.allParameters, learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4)

        model.train()
        let logits = try model.forward(input, device: device.device)
        expectClose(logits, Tensor(shape: [4, 5], scalars: reference.logits), absolute: 1e-4, relative: 1e-4, "\(device) \(network) logits")
        let result = try loss(logits: logits, labels: reference.labels, device: device.device)
        #expect(abs(result.loss - reference.loss) < 1e-4, "\(device) loss \(result.loss) vs PyTorch \(reference.loss)")
        _ = try model.backward(result.gradient, device: device.device)
        for (name, parameter) in model.namedParameters() {
            guard let expected = reference.gradients[name], let gradient = parameter.gradient else {
                Issue.record("\(device): no gradient for \(name)")
                continue
            }
            expectClose(gradient, Tensor(shape: parameter.shape, scalars: expected), absolute: 1e-4, relative: 1e-3, "\(device) ∂\(name)")
        }
        optimizer.step()
        for step in 1..<3 {
            optimizer.zeroGradients()
            let stepLogits = try model.forward(input, device: device.device)
            let stepResult = try loss(logits: stepLogits, labels: reference.labels, device: device.device)
            #expect(abs(stepResult.loss - reference.losses_per_step[step]) < 1e-3, "\(device) loss at step \(step + 1)")
            _ = try model.backward(stepResult.gradient, device: device.device)
            optimizer.step()
        }
        let after = Self.tensors(reference.state_after_sgd, shapes: reference.shapes)
        for (name, tensor) in model.stateDict() {
            guard let expected = after[name] else {
                Issue.record("\(device): PyTorch has no \(name)")
                continue
            }
            expectClose(tensor, expected.reshaped(to: tensor.shape), absolute: 1e-4, relative: 1e-3, "\(device) \(name) after 3 SGD steps")
        }
    }

    @Test(arguments: networks)
    func stateDictNamesMatchPyTorch(network: String) throws {
        let reference = try Self.load(network)
        let names = Set(try Self.makeModel(network).stateDict().map(\.name))
        #expect(names == Set(reference.shapes.keys))
    }

    @Test func loadStateDictReportsMismatchesByName() throws {
        let reference = try Self.load("small_resnet")
        var dict = Self.tensors(reference.initial_state, shapes: reference.shapes)
        dict["fc.weight"] = Tensor(zeros: [3, 16])
        dict.removeValue(forKey: "bn1.running_mean")
        dict["head.weight"] = Tensor(zeros: [1])
        let model = try Self.makeResNet()
        do {
            try model.loadStateDict(dict)
            Issue.record("strict loading should have thrown")
        } catch let error as FoveaError {
            #expect(error.message.contains("missing keys: bn1.running_mean"), "\(error.message)")
            #expect(error.message.contains("unexpected keys: head.weight"), "\(error.message)")
            #expect(error.message.contains("fc.weight expects 5×16, got 3×16"), "\(error.message)")
        }
        let before = model.namedParameters().first { $0.name == "conv1.weight" }!.parameter.value
        let mismatch = try model.loadStateDict(dict, strict: false)
        #expect(mismatch.missing == ["bn1.running_mean"] && mismatch.unexpected == ["head.weight"])
        #expect(mismatch.shapeMismatches.map(\.name) == ["fc.weight"])
        let after = model.namedParameters().first { $0.name == "conv1.weight" }!.parameter.value
        #expect(after.scalars != before.scalars)  // non-strict loading did load the matching entries
    }
}
