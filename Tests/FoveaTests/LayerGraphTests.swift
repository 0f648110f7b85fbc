import Fovea
import FoveaTestSupport
import Testing

@Suite("Layer graph: shapes, names, summary")
struct LayerGraphTests {
    private func message(_ body: () throws -> Void) -> String {
        do { try body() } catch let error as FoveaError { return error.message } catch { return "unexpected \(error)" }
        return "no error"
    }

    @Test func channelMismatchNamesLayerAndBothShapes() throws {
        let model = try Sequential(named: [
            ("conv1", try Conv2D(3, 32, kernelSize: 3, padding: 1)),
            ("relu1", ReLU()),
            ("conv2", try Conv2D(64, 64, kernelSize: 3)),
        ])
        let text = message { try model.build(inputShape: [1, 3, 16, 16]) }
        #expect(text.contains("conv2") && text.contains("expects 64 input channels") && text.contains("got 32"), "\(text)")
        #expect(text.contains("1×32×16×16"), "\(text)")
    }

    @Test func kernelTooLargeShowsTheArithmetic() throws {
        let model = try Sequential(named: [
            ("conv1", try Conv2D(1, 4, kernelSize: 5, stride: 2)),
            ("pool1", try MaxPool2D(kernelSize: 2)),
            ("conv3", try Conv2D(4, 8, kernelSize: 5)),
        ])
        // 28 → (28 − 4 − 1)/2 + 1 = 12 → pool 6 → a 5×5 kernel still fits (2); at 20 the chain fails.
        #expect(throws: Never.self) { try model.build(inputShape: [1, 1, 28, 28]) }
        let text = message { try model.build(inputShape: [1, 1, 20, 20]) }
        // 20 → 8 → 4 → conv3: (4 + 2·0 − 1·(5−1) − 1)/1 + 1 has no output.
        #expect(text.contains("conv3") && text.contains("(4 + 2·0 − 1·(5−1) − 1)/1 + 1"), "\(text)")
    }

    @Test func linearAfterFlattenChecksFeatures() throws {
        let model = try Sequential(named: [
            ("conv", try Conv2D(1, 2, kernelSize: 3)),
            ("flatten", Flatten()),
            ("fc", try Linear(50, 10)),
        ])
        #expect(try model.build(inputShape: [4, 1, 7, 7]) == [4, 10])
        let text = message { try model.build(inputShape: [4, 1, 8, 8]) }
        #expect(text.contains("fc") && text.contains("expects 50 input features, got 72"), "\(text)")
        let missingFlatten = message { try Sequential(named: [("fc", try Linear(3, 2))]).build(inputShape: [1, 3, 1, 1]) }
        #expect(missingFlatten.contains("Flatten"), "\(missingFlatten)")
    }

    @Test func residualBranchMismatchIsReported() throws {
        let block = ResidualBlock(branch: [("conv1", try Conv2D(4, 8, kernelSize: 3, padding: 1))], downsample: nil)
        let text = message { try block.build(inputShape: [1, 4, 6, 6]) }
        #expect(text.contains("residual branch gives 1×8×6×6") && text.contains("skip path gives 1×4×6×6"), "\(text)")
    }

    @Test func parameterNamesFollowPyTorch() throws {
        let model = try Sequential(named: [
            ("conv1", try Conv2D(3, 8, kernelSize: 3, padding: 1, bias: false)),
            ("bn1", try BatchNorm2D(8)),
            ("layer1", Sequential([try BasicBlock(8, 8), try BasicBlock(8, 16, stride: 2)])),
            ("fc", try Linear(16, 10)),
        ])
        let names = model.namedParameters().map(\.name)
        #expect(names.prefix(3) == ["conv1.weight", "bn1.weight", "bn1.bias"])
        #expect(names.contains("layer1.0.conv1.weight"))
        #expect(names.contains("layer1.1.downsample.0.weight"))
        #expect(names.contains("layer1.1.downsample.1.bias"))
        #expect(!names.contains("layer1.0.downsample.0.weight"))
        #expect(names.suffix(2) == ["fc.weight", "fc.bias"])
        let buffers = model.namedBuffers().map(\.name)
        #expect(buffers.prefix(3) == ["bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked"])
        #expect(model.layer(at: "layer1.1.conv2")?.qualifiedName == "layer1.1.conv2")
        // Bottleneck and dense names.
        let bottleneck = try Bottleneck(64, 64)
        #expect(bottleneck.namedParameters().map(\.name).contains("conv3.weight"))
        #expect(bottleneck.namedParameters().map(\.name).contains("downsample.0.weight"))
        let dense = try DenseBlock(layers: 2, inputChannels: 8, growthRate: 4)
        #expect(dense.namedParameters().map(\.name).contains("denselayer2.conv2.weight"))
        #expect(dense.namedParameters().map(\.name).contains("denselayer1.norm1.weight"))
    }

    @Test func summaryCountsParametersFlopsAndMemory() throws {
        let model = try Sequential(named: [
            ("conv1", try Conv2D(3, 8, kernelSize: 3, padding: 1)),
            ("relu", ReLU()),
            ("pool", try MaxPool2D(kernelSize: 2)),
            ("flatten", Flatten()),
            ("fc", try Linear(8 * 4 * 4, 10)),
        ])
        let summary = try model.summary(inputShape: [2, 3, 8, 8])
        #expect(summary.rows.map(\.name) == ["conv1", "relu", "pool", "flatten", "fc"])
        // conv1: 8·3·3·3 weights + 8 biases; fc: 128·10 + 10.
        #expect(summary.rows[0].parameters == 8 * 3 * 9 + 8)
        #expect(summary.totalParameters == 8 * 3 * 9 + 8 + 128 * 10 + 10)
        #expect(summary.totalParameters == model.parameterCount)
        // conv FLOPs: 2·N·K·C·R·S·P·Q = 2·2·8·3·3·3·8·8.
        #expect(summary.rows[0].flops == 2 * 2 * 8 * 27 * 64)
        #expect(summary.rows[0].outputShape == [2, 8, 8, 8])
        // Each row's input is the previous row's output in a chain.
        #expect(summary.rows.map(\.inputShape) == [[2, 3, 8, 8], [2, 8, 8, 8], [2, 8, 8, 8], [2, 8, 4, 4], [2, 128]])
        #expect(summary.rows[0].activationBytes == 2 * 8 * 8 * 8 * 4)
        #expect(summary.outputShape == [2, 10])
        let text = summary.description
        #expect(text.contains("conv1") && text.contains("2×8×8×8") && text.contains("total"), "\(text)")
    }

    @Test func denseBlockGrowsChannels() throws {
        let block = try DenseBlock(layers: 3, inputChannels: 6, growthRate: 4)
        #expect(try block.build(inputShape: [2, 6, 5, 5]) == [2, 18, 5, 5])
        // The second dense layer's first convolution sees the 6 + 4 channels concatenated so far.
        let rows = try block.summary(inputShape: [2, 6, 5, 5]).rows
        #expect(rows.first { $0.name == "denselayer2.conv1" }?.inputShape == [2, 10, 5, 5])
        #expect(rows.first { $0.name == "denselayer2 (concat)" }?.inputShape == [2, 10, 5, 5])
        let transition = try Transition(inputChannels: 18, outputChannels: 9)
        #expect(try transition.build(inputShape: [2, 18, 5, 5]) == [2, 9, 2, 2])
    }

    @Test func modeAndFreezingApplyToTheSubtree() throws {
        let model = try Sequential(named: [("a", Sequential([try Conv2D(1, 1, kernelSize: 1), try BatchNorm2D(1)])), ("b", try Linear(2, 2))])
        model.eval()
        #expect(model.namedLayers().allSatisfy { !$0.layer.isTraining })
        model.train()
        #expect(model.namedLayers().allSatisfy { $0.layer.isTraining })
        model.layer(at: "a")!.freeze()
        #expect(model.layer(at: "a")!.isFrozen)
        #expect(!model.layer(at: "b")!.isFrozen)
        model.unfreeze()
        #expect(!model.isFrozen)
    }

    @Test func backwardWithoutForwardIsAnError() throws {
        let conv = try Conv2D(1, 1, kernelSize: 1)
        let text = message { _ = try conv.backward(Tensor(zeros: [1, 1, 2, 2]), device: TestDevices.naive) }
        #expect(text.contains("backward needs a forward pass in training mode"), "\(text)")
    }

    @Test func initializersHaveTheirStatistics() throws {
        let shape: Shape = [64, 32, 3, 3]  // fanIn 288, fanOut 576
        func std(_ t: Tensor) -> Double {
            let v = t.scalars.map(Double.init)
            let mean = v.reduce(0, +) / Double(v.count)
            return (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)).squareRoot()
        }
        #expect(abs(std(Initializer.kaimingNormal(shape, seed: 1)) - (2.0 / 288).squareRoot()) < 0.003)
        #expect(abs(std(Initializer.kaimingNormal(shape, fan: .fanOut, seed: 1)) - (2.0 / 576).squareRoot()) < 0.002)
        #expect(abs(std(Initializer.xavierNormal(shape, seed: 2)) - (2.0 / 864).squareRoot()) < 0.002)
        let uniform = Initializer.xavierUniform(shape, seed: 3)
        let bound = Float((6.0 / 864).squareRoot())
        #expect(uniform.scalars.allSatisfy { abs($0) <= bound })
        #expect(abs(std(uniform) - Double(bound) / 3.0.squareRoot()) < 0.002)
        let kaimingU = Initializer.kaimingUniform(shape, seed: 4)
        #expect(kaimingU.scalars.allSatisfy { abs($0) <= Float((6.0 / 288).squareRoot()) })
        // PyTorch's Conv2d default: uniform in ±1/√fanIn.
        let conv = try Conv2D(32, 64, kernelSize: 3, seed: 5)
        #expect(conv.weight.value.scalars.allSatisfy { abs($0) <= 1 / Float(288).squareRoot() })
        #expect(abs(std(conv.weight.value) - 1 / (3.0 * 288).squareRoot()) < 0.002)
    }
}
