import Fovea
import FoveaTestSupport
import Testing

/// `backwardWithoutInputGradient`: the trainer has no use for the gradient of its input images,
/// so the first layer skips it (a convolution's backward-data pass, a linear layer's `∂x`), as
/// PyTorch does for data that does not require gradients. Parameter gradients stay bit-identical
/// to a full `backward`.
@Suite("Training skips the input images' gradient")
struct InputGradientSkipTests {
    /// Every parameter gradient, by name.
    static func gradients(_ model: Layer) -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.parameter.gradient!) })
    }

    /// A convolution first (cnn-bn, resnet-small) and a linear layer first (an MLP): the same
    /// gradients as `backward`, and no operation for the input's gradient.
    @Test(arguments: ["cnn-bn", "resnet-small", "mlp"])
    func parameterGradientsMatchAFullBackward(model name: String) throws {
        func make() throws -> Sequential {
            name == "mlp"
                ? Sequential([Flatten(), try Linear(784, 32, seed: 1), ReLU(), try Linear(32, 10, seed: 2)])
                : try SmallModels.make(name, seed: 5)
        }
        let (full, skipping) = (try make(), try make())
        let x = Tensor.randomNormal([4, 1, 28, 28], seed: 9)
        let gradOutput = Tensor.randomNormal([4, 10], seed: 10)
        let device = ProfilingDevice(subject: try Devices.make("dispatch", threads: 2))
        _ = try full.scopedForward(x, device: device)
        _ = try full.scopedBackward(gradOutput, device: device)
        let fullOperations = device.log.all
        device.log.removeAll()
        _ = try skipping.scopedForward(x, device: device)
        try skipping.scopedBackwardWithoutInputGradient(gradOutput, device: device)
        let skippingOperations = device.log.all

        let (expected, actual) = (Self.gradients(full), Self.gradients(skipping))
        #expect(Set(expected.keys) == Set(actual.keys))
        for (parameter, gradient) in expected { expectIdentical(actual[parameter]!, gradient, "\(name): \(parameter)") }

        let firstLayer = full.children[name == "mlp" ? 1 : 0].layer.displayName
        func inputGradientWork(_ records: [OperationRecord]) -> [String] {
            records.filter { $0.layer == firstLayer && ($0.operation == "conv2dBackwardData" || $0.operation == "linearBackward") }
                .map { "\($0.operation) \($0.flops)" }
        }
        let (before, after) = (inputGradientWork(fullOperations), inputGradientWork(skippingOperations))
        if name == "mlp" {
            // One linearBackward either way; without ∂x it does half the multiply-adds.
            #expect(before.count == 1 && after.count == 1 && before != after, "\(before) → \(after)")
        } else {
            // One backward-data pass in a full backward, none without the input gradient.
            #expect(before.count == 1 && after.isEmpty, "\(before) → \(after)")
        }
    }

    /// A frozen first layer (transfer learning's frozen backbone): its backward does not run at
    /// all, and the other gradients are those of a full backward.
    @Test func frozenLeadingLayersRunNoBackward() throws {
        let (full, skipping) = (try SmallModels.make("cnn-bn", seed: 5), try SmallModels.make("cnn-bn", seed: 5))
        for model in [full, skipping] { for parameter in model.children[0].layer.allParameters { parameter.isFrozen = true } }
        let x = Tensor.randomNormal([4, 1, 28, 28], seed: 9)
        let gradOutput = Tensor.randomNormal([4, 10], seed: 10)
        let device = ProfilingDevice(subject: try Devices.make("dispatch", threads: 2))
        _ = try full.scopedForward(x, device: device)
        _ = try full.scopedBackward(gradOutput, device: device)
        _ = try skipping.scopedForward(x, device: device)
        device.log.removeAll()
        try skipping.scopedBackwardWithoutInputGradient(gradOutput, device: device)
        let frozen = skipping.children[0].layer.displayName
        #expect(!device.log.all.contains { $0.layer == frozen }, "\(device.log.all.filter { $0.layer == frozen }.map(\.operation))")
        let trainable = full.namedParameters().filter { !$0.parameter.isFrozen }.map(\.name)
        let (expected, actual) = (Dictionary(uniqueKeysWithValues: full.namedParameters().map { ($0.name, $0.parameter) }),
                                  Dictionary(uniqueKeysWithValues: skipping.namedParameters().map { ($0.name, $0.parameter) }))
        #expect(!trainable.isEmpty)
        for name in trainable { expectIdentical(actual[name]!.gradient!, expected[name]!.gradient!, name) }
        #expect(actual.values.filter(\.isFrozen).allSatisfy { $0.gradient == nil })
    }

    /// `Trainer.trainStep` runs it: no backward-data for the first convolution of the step.
    @Test func trainerSkipsTheFirstLayersInputGradient() throws {
        let model = try SmallModels.make("cnn-bn", seed: 5)
        let device = ProfilingDevice(subject: try Devices.make("dispatch", threads: 2))
        let trainer = Trainer(model: model, optimizer: try SGD(model.allParameters, learningRate: 0.01), device: device)
        _ = try trainer.trainStep(Batch(images: Tensor.randomNormal([4, 1, 28, 28], seed: 3), labels: [1, 2, 3, 4]))
        let backwardData = device.log.all.filter { $0.operation == "conv2dBackwardData" }.map(\.layer)
        #expect(!backwardData.contains(model.children[0].layer.displayName) && !backwardData.isEmpty, "\(backwardData)")
    }
}
