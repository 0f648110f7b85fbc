import Foundation
import Fovea
import FoveaTestSupport
import Testing

/// A small network with ResNet's building blocks against PyTorch, on every backend:
/// conv → BN → ReLU → max pool → basic block with projection → global average pool → linear →
/// softmax cross-entropy. Reference values from `Scripts/make_torch_fixtures.py`
/// (`Fixtures/small_network_torch.json`).
///
/// Tolerances: logits and loss 1e-4 absolute + 1e-4 relative; gradients 1e-4 + 1e-3 relative;
/// parameters and buffers after three SGD steps 1e-4 + 1e-3 relative.
@Suite("Small network against PyTorch")
struct SmallNetworkTorchTests {
    struct Document: Decodable {
        var format_version: Int
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

    static func load() throws -> Document {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/small_network_torch.json")
        let document = try JSONDecoder().decode(Document.self, from: Data(contentsOf: url))
        guard document.format_version == 1 else {
            throw FoveaError(.corruptFile, "\(url.path): format version \(document.format_version), expected 1; re-run Scripts/make_torch_fixtures.py")
        }
        return document
    }

    /// The Fovea twin of the script's `SmallResNet`, with PyTorch's parameter names.
    static func makeModel() -> Sequential {
        Sequential(named: [
            ("conv1", Conv2D(3, 8, kernelSize: 3, padding: 1, bias: false)),
            ("bn1", BatchNorm2D(8)),
            ("relu", ReLU()),
            ("maxpool", MaxPool2D(kernelSize: 3, stride: 2, padding: 1)),
            ("layer1", Sequential([BasicBlock(8, 16, stride: 2)])),
            ("avgpool", AdaptiveAvgPool2D(outputSize: 1)),
            ("flatten", Flatten()),
            ("fc", Linear(16, 5)),
        ])
    }

    static func tensors(_ values: [String: [Float]], shapes: [String: [Int]]) -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: values.map { name, scalars in
            (name, Tensor(shape: Shape(shapes[name]!), scalars: scalars))
        })
    }

    @Test(arguments: TestDevices.all)
    func forwardGradientsAndThreeSGDSteps(device: LabeledDevice) throws {
        let reference = try Self.load()
        let model = Self.makeModel()
        try model.loadStateDict(Self.tensors(reference.initial_state, shapes: reference.shapes))
        let input = Tensor(shape: Shape(reference.input_shape), scalars: reference.input)
        let loss = SoftmaxCrossEntropy()
        let optimizer = SGD(model.allParameters, learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4)

        model.train()
        let logits = try model.forward(input, device: device.device)
        expectClose(logits, Tensor(shape: [4, 5], scalars: reference.logits), absolute: 1e-4, relative: 1e-4, "\(device) logits")
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

    @Test func stateDictNamesMatchPyTorch() throws {
        let reference = try Self.load()
        let names = Set(Self.makeModel().stateDict().map(\.name))
        #expect(names == Set(reference.shapes.keys))
    }

    @Test func loadStateDictReportsMismatchesByName() throws {
        let reference = try Self.load()
        var dict = Self.tensors(reference.initial_state, shapes: reference.shapes)
        dict["fc.weight"] = Tensor(zeros: [3, 16])
        dict.removeValue(forKey: "bn1.running_mean")
        dict["head.weight"] = Tensor(zeros: [1])
        let model = Self.makeModel()
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
