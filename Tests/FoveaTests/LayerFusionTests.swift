import Fovea
import FoveaTestSupport
import Testing

/// Fused layer chains (`LayerFusion`: batch norm folded into the convolution before it, ReLU as
/// the convolution's epilogue or in the batch norm's pass) give the results of running the layers
/// one by one.
@Suite("Layer fusion and batch-norm folding")
struct LayerFusionTests {
    /// Gives a batch norm non-trivial γ, β and running statistics.
    static func randomize(_ norm: BatchNorm2D, seed: UInt64) {
        let c = norm.channels
        norm.weight.value = Tensor.randomUniform([c], in: 0.5...1.5, seed: seed)
        norm.bias.value = Tensor.randomNormal([c], seed: seed &+ 1)
        norm.runningMean.value = Tensor.randomNormal([c], seed: seed &+ 2)
        norm.runningVariance.value = Tensor.randomUniform([c], in: 0.2...2, seed: seed &+ 3)
    }

    /// conv → BN → ReLU → conv (no bias) → BN → conv → ReLU → LeakyReLU-after-BN patterns.
    static func makeChain() throws -> Sequential {
        let chain = try Sequential(named: [
            ("conv1", try Conv2D(3, 6, kernelSize: 3, padding: 1, seed: 1)),
            ("bn1", try BatchNorm2D(6)),
            ("relu1", ReLU()),
            ("conv2", try Conv2D(6, 5, kernelSize: 3, stride: 2, bias: false, seed: 2)),
            ("bn2", try BatchNorm2D(5)),
            ("conv3", try Conv2D(5, 4, kernelSize: 1, seed: 3)),
            ("relu3", ReLU()),
            ("conv4", try Conv2D(4, 4, kernelSize: 3, padding: 1, seed: 4)),
            ("bn4", try BatchNorm2D(4)),
            ("leaky", LeakyReLU(negativeSlope: 0.1)),
        ])
        for (index, layer) in chain.namedLayers().enumerated() {
            if let norm = layer.layer as? BatchNorm2D { randomize(norm, seed: UInt64(index) * 10) }
        }
        return chain
    }

    static let input = Tensor.randomNormal([2, 3, 9, 8], seed: 5)

    static func unfused(_ model: Layer, _ input: Tensor, _ device: any Device) throws -> Tensor {
        try LayerFusion.withoutFusion { try model.forward(input, device: device) }
    }

    static func fused(_ model: Layer, _ input: Tensor, _ device: any Device) throws -> Tensor {
        try LayerFusion.withFusion { try model.forward(input, device: device) }
    }

    @Test(arguments: TestDevices.all)
    func foldedChainMatchesLayerByLayer(device: LabeledDevice) throws {
        let chain = try Self.makeChain()
        chain.eval()
        let expected = try Self.unfused(chain, Self.input, TestDevices.naive)
        expectClose(try Self.fused(chain, Self.input, device.device), expected, absolute: 1e-4, relative: 1e-4, "\(device)")
        // The cache serves a second call with the same answer.
        expectClose(try Self.fused(chain, Self.input, device.device), expected, absolute: 1e-4, relative: 1e-4, "\(device), cached fold")
    }

    /// The fold really replaces the batch norm: a batch norm with a different ε than its
    /// statistics would suggest changes the fused output exactly as it changes the unfused one.
    @Test func foldUsesEveryBatchNormTensor() throws {
        let device = TestDevices.naive
        let conv = try Conv2D(2, 3, kernelSize: 1, seed: 9)
        let norm = try BatchNorm2D(3, epsilon: 0.5)
        Self.randomize(norm, seed: 3)
        let chain = Sequential([conv, norm])
        chain.eval()
        let x = Tensor.randomNormal([1, 2, 2, 2], seed: 1)
        let y = try Self.fused(chain, x, device)
        // By hand for output channel 0 at position 0: s·(w·x + b − μ) + β.
        let s = norm.weight.value[0] / (norm.runningVariance.value[0] + 0.5).squareRoot()
        let z = conv.weight.value[0, 0, 0, 0] * x[0, 0, 0, 0] + conv.weight.value[0, 1, 0, 0] * x[0, 1, 0, 0] + conv.bias!.value[0]
        let expected = s * (z - norm.runningMean.value[0]) + norm.bias.value[0]
        #expect(abs(y[0, 0, 0, 0] - expected) <= 1e-5 * max(1, abs(expected)), "\(y[0, 0, 0, 0]) vs \(expected)")
    }

    /// Changing any tensor the fold read — in place, by assignment, by a state dict — after a
    /// forward pass changes the next output.
    @Test(arguments: ["conv weight in place", "conv bias assigned", "bn weight", "bn bias", "running mean in place",
                      "running variance assigned", "state dict"])
    func changesAfterAForwardInvalidateTheFold(change: String) throws {
        let device = TestDevices.accelerated[0].device
        let chain = try Self.makeChain()
        chain.eval()
        let before = try Self.fused(chain, Self.input, device)
        let conv1 = chain.layer(at: "conv1") as! Conv2D
        let bn1 = chain.layer(at: "bn1") as! BatchNorm2D
        switch change {
        case "conv weight in place": conv1.weight.value.withUnsafeMutableBufferPointer { $0[0] += 1 }
        case "conv bias assigned": conv1.bias!.value = Tensor(repeating: 0.3, shape: [6])
        case "bn weight": bn1.weight.value *= 2
        case "bn bias": bn1.bias.value[flat: 2] -= 1
        case "running mean in place": bn1.runningMean.value.withUnsafeMutableBufferPointer { $0[3] += 2 }
        case "running variance assigned": bn1.runningVariance.value = Tensor(repeating: 4, shape: [6])
        default:
            let other = try Self.makeChain()
            Self.randomize(other.layer(at: "bn1") as! BatchNorm2D, seed: 99)
            other.layer(at: "conv1")!.parameters[0].parameter.value = Tensor.randomNormal([6, 3, 3, 3], seed: 98)
            _ = try chain.loadStateDict(Dictionary(uniqueKeysWithValues: other.stateDict().map { ($0.name, $0.tensor) }))
        }
        let after = try Self.fused(chain, Self.input, device)
        let expected = try Self.unfused(chain, Self.input, device)
        expectClose(after, expected, absolute: 1e-4, relative: 1e-4, change)
        #expect(after.difference(from: before).maxAbsolute > 1e-3, "\(change) did not change the output")
    }

    /// eval → train (batch statistics, running estimates move) → eval → train: each evaluation
    /// uses the current running estimates; training is never folded.
    @Test(arguments: TestDevices.accelerated)
    func modeTransitions(device: LabeledDevice) throws {
        let chain = try Self.makeChain()
        chain.eval()
        _ = try Self.fused(chain, Self.input, device.device)
        chain.train()
        let trainingFused = try Self.fused(chain, Self.input, device.device)
        // Undo the running-estimate update of that call by comparing against a twin in the same state.
        let twin = try Self.makeChain()
        twin.eval()
        twin.train()
        let trainingUnfused = try Self.unfused(twin, Self.input, device.device)
        expectClose(trainingFused, trainingUnfused, absolute: 1e-4, relative: 1e-4, "\(device) training mode")
        chain.eval()
        twin.eval()
        expectClose(try Self.fused(chain, Self.input, device.device), try Self.unfused(twin, Self.input, device.device),
                    absolute: 1e-4, relative: 1e-4, "\(device) evaluation after training")
        chain.train()
        twin.train()
        expectClose(try Self.fused(chain, Self.input, device.device), try Self.unfused(twin, Self.input, device.device),
                    absolute: 1e-4, relative: 1e-4, "\(device) training again")
    }

    /// In training mode conv → ReLU runs fused; backward (which uses ReLU's output as its mask)
    /// gives the same gradients as the unfused chain.
    @Test(arguments: TestDevices.all)
    func trainingConvReLUBackwardMatches(device: LabeledDevice) throws {
        func run(fused: Bool) throws -> (output: Tensor, input: Tensor, weights: [Tensor]) {
            let chain = Sequential([try Conv2D(3, 5, kernelSize: 3, padding: 1, seed: 1), ReLU(),
                                    try Conv2D(5, 2, kernelSize: 2, stride: 2, seed: 2), ReLU()])
            chain.train()
            let output = fused ? try Self.fused(chain, Self.input, device.device) : try Self.unfused(chain, Self.input, device.device)
            let gradOutput = Tensor.randomNormal(output.shape, seed: 12)
            let gradInput = try chain.backward(gradOutput, device: device.device)
            return (output, gradInput, chain.allParameters.map { $0.gradient! })
        }
        let (fused, unfused) = (try run(fused: true), try run(fused: false))
        expectIdentical(fused.output, unfused.output, "\(device) output")
        expectIdentical(fused.input, unfused.input, "\(device) input gradient")
        for (a, b) in zip(fused.weights, unfused.weights) { expectIdentical(a, b, "\(device) parameter gradient") }
    }

    /// In training mode BN → ReLU runs as one pass, and the batch norm's backward applies ReLU's
    /// derivative while the ReLU hands ∂y on. Pre-activation (BN → ReLU → conv), conv → BN → ReLU,
    /// and a residual block's branch, over two steps: outputs, input and parameter gradients and
    /// running statistics are bit for bit those of the unfused chain, also when the second step
    /// runs unfused after a fused one (each layer's own forward resets what the fusion recorded).
    @Test(arguments: TestDevices.all)
    func trainingBatchNormReLUMatchesUnfused(device: LabeledDevice) throws {
        func run(fusedSteps: [Bool]) throws -> [Tensor] {
            let norm = try BatchNorm2D(3)
            Self.randomize(norm, seed: 31)
            let model = Sequential([norm, ReLU(), try Self.makeChain(), try BasicBlock(4, 4, seed: 7)])
            model.train()
            var results: [Tensor] = []
            for (step, fused) in fusedSteps.enumerated() {
                let x = Tensor.randomNormal([2, 3, 9, 8], seed: 30 &+ UInt64(step))
                let output = fused ? try Self.fused(model, x, device.device) : try Self.unfused(model, x, device.device)
                let gradInput = try model.backward(Tensor.randomNormal(output.shape, seed: 40 &+ UInt64(step)), device: device.device)
                results += [output, gradInput] + model.allParameters.map { $0.gradient! } + model.stateDict().map(\.tensor)
            }
            return results
        }
        let unfused = try run(fusedSteps: [false, false])
        for steps in [[true, true], [true, false]] {
            let fused = try run(fusedSteps: steps)
            #expect(fused.count == unfused.count)
            for (index, (a, b)) in zip(fused, unfused).enumerated() { expectIdentical(a, b, "\(device) fused steps \(steps) [\(index)]") }
        }
    }

    /// Fused evaluation-mode ResNet (stem, basic blocks, projections) and VGG-with-BN-style
    /// chains give the unfused outputs.
    @Test(arguments: TestDevices.accelerated.prefix(2))
    func resNetEvaluationMatchesUnfused(device: LabeledDevice) throws {
        let model = try ResNet(.resnet18, classes: 10, seed: 3)
        for (index, entry) in model.namedLayers().enumerated() {
            if let norm = entry.layer as? BatchNorm2D { Self.randomize(norm, seed: UInt64(index)) }
        }
        model.eval()
        let x = Tensor.randomNormal([2, 3, 32, 32], seed: 4)
        let expected = try Self.unfused(model, x, device.device)
        expectClose(try Self.fused(model, x, device.device), expected, absolute: 1e-3, relative: 1e-3, "\(device) resnet18")
    }

    /// DenseNet's pre-activation BN → ReLU → conv, and the device operation it uses, on every backend.
    @Test(arguments: TestDevices.all)
    func batchNormReLUMatchesLayerByLayer(device: LabeledDevice) throws {
        let norm = try BatchNorm2D(3), relu = ReLU(), conv = try Conv2D(3, 4, kernelSize: 3, padding: 1, bias: false, seed: 6)
        Self.randomize(norm, seed: 21)
        let chain = Sequential([norm, relu, conv, try BatchNorm2D(4), LeakyReLU()])
        chain.eval()
        let expected = try Self.unfused(chain, Self.input, TestDevices.naive)
        expectClose(try Self.fused(chain, Self.input, device.device), expected, absolute: 1e-4, relative: 1e-4, "\(device) chain")
        for activation in [Activation.relu, .leakyReLU(negativeSlope: 0.2)] {
            let naive = TestDevices.naive
            let reference = naive.activationForward(activation, input: naive.batchNormInference(
                input: Self.input, scale: norm.weight.value, shift: norm.bias.value, runningMean: norm.runningMean.value,
                runningVariance: norm.runningVariance.value, epsilon: norm.epsilon))
            let fused = device.device.batchNormInference(
                input: Self.input, scale: norm.weight.value, shift: norm.bias.value, runningMean: norm.runningMean.value,
                runningVariance: norm.runningVariance.value, epsilon: norm.epsilon, activation: activation)
            expectClose(fused, reference, absolute: 1e-5, relative: 1e-5, "\(device) batchNormInference + \(activation)")
        }
    }

    /// Capturing an intermediate output still returns the layer's own output, fused or not.
    @Test func captureIsUnaffected() throws {
        let chain = try Self.makeChain()
        chain.eval()
        let device = TestDevices.naive
        let captured = try LayerFusion.withFusion { try chain.forward(Self.input, device: device, upTo: "bn1") }
        let conv = try (chain.layer(at: "conv1")!).forward(Self.input, device: device)
        let expected = try (chain.layer(at: "bn1")!).forward(conv, device: device)
        expectClose(captured, expected, absolute: 1e-5, relative: 1e-5)
        #expect(captured.scalars.contains { $0 < 0 }, "bn1's output is captured before relu1")
    }
}
