import Fovea
import Testing

/// Invalid layer and model arguments throw `FoveaError.invalidArgument` naming the layer, the
/// argument and the valid range (they used to trap, with the message stripped in release builds).
@Suite("Layer argument errors")
struct LayerArgumentTests {
    /// The error `body` throws; fails the test when it throws none or another type.
    private func invalidArgument(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> FoveaError? {
        do {
            try body()
            Issue.record("no error thrown", sourceLocation: sourceLocation)
        } catch let error as FoveaError {
            #expect(error.kind == .invalidArgument, "\(error)", sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    /// Expects `body` to throw an invalid-argument error whose message contains every fragment.
    private func expectError(_ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        guard let error = invalidArgument(body, sourceLocation: sourceLocation) else { return }
        for fragment in fragments {
            #expect(error.message.contains(fragment), "\(error.message) lacks \(fragment)", sourceLocation: sourceLocation)
        }
    }

    @Test func linear() {
        expectError(["Linear", "inputFeatures", "≥ 1", "got 0"]) { _ = try Linear(0, 4) }
        expectError(["Linear", "outputFeatures", "≥ 1", "got -2"]) { _ = try Linear(3, -2) }
    }

    @Test func conv2D() {
        expectError(["Conv2D", "inputChannels 3", "divisible by groups 2"]) { _ = try Conv2D(3, 8, kernelSize: 3, groups: 2) }
        expectError(["Conv2D", "outputChannels 5", "divisible by groups 2"]) { _ = try Conv2D(4, 5, kernelSize: 3, groups: 2) }
        expectError(["Conv2D", "inputChannels", "≥ 1", "got 0"]) { _ = try Conv2D(0, 8, kernelSize: 3) }
        expectError(["Conv2D", "kernelSize", "≥ 1", "(3, 0)"]) { _ = try Conv2D(1, 8, kernelSize: Size2D(height: 3, width: 0)) }
        expectError(["Conv2D", "kernelSize", "≥ 1", "-1"]) { _ = try Conv2D(1, 8, kernelSize: -1) }
        expectError(["Conv2D", "stride", "≥ 1", "got 0"]) { _ = try Conv2D(1, 8, kernelSize: 3, stride: 0) }
        expectError(["Conv2D", "padding", "≥ 0", "got -1"]) { _ = try Conv2D(1, 8, kernelSize: 3, padding: -1) }
        expectError(["Conv2D", "dilation", "≥ 1", "got 0"]) { _ = try Conv2D(1, 8, kernelSize: 3, dilation: 0) }
        expectError(["Conv2D", "groups", "≥ 1", "got 0"]) { _ = try Conv2D(4, 8, kernelSize: 3, groups: 0) }
    }

    @Test func dropout() {
        expectError(["Dropout", "probability", "[0, 1)", "got 1.0"]) { _ = try Dropout(probability: 1) }
        expectError(["Dropout", "probability", "[0, 1)", "-0.1"]) { _ = try Dropout(probability: -0.1) }
        expectError(["Dropout", "probability", "nan"]) { _ = try Dropout(probability: .nan) }
    }

    @Test func batchNorm() {
        expectError(["BatchNorm2D", "channels", "≥ 1", "got 0"]) { _ = try BatchNorm2D(0) }
        expectError(["BatchNorm2D", "epsilon", "> 0", "got 0.0"]) { _ = try BatchNorm2D(4, epsilon: 0) }
        expectError(["BatchNorm2D", "momentum", "[0, 1]", "got 1.5"]) { _ = try BatchNorm2D(4, momentum: 1.5) }
    }

    @Test func localResponseNorm() {
        expectError(["LocalResponseNorm", "size", "≥ 1", "got 0"]) { _ = try LocalResponseNorm(size: 0) }
        expectError(["LocalResponseNorm", "k", "> 0", "got -1.0"]) { _ = try LocalResponseNorm(size: 3, k: -1) }
        expectError(["LocalResponseNorm", "alpha", "≥ 0", "inf"]) { _ = try LocalResponseNorm(size: 3, alpha: .infinity) }
    }

    @Test func pooling() {
        expectError(["MaxPool2D", "kernelSize", "≥ 1", "got 0"]) { _ = try MaxPool2D(kernelSize: 0) }
        expectError(["MaxPool2D", "padding 2", "half the kernel 3"]) { _ = try MaxPool2D(kernelSize: 3, padding: 2) }
        expectError(["AvgPool2D", "stride", "≥ 1", "got 0"]) { _ = try AvgPool2D(kernelSize: 2, stride: 0) }
        expectError(["AdaptiveAvgPool2D", "outputSize", "≥ 1", "got 0"]) { _ = try AdaptiveAvgPool2D(outputSize: 0) }
    }

    @Test func modelConfigurations() {
        expectError(["ResNet", "layers", "four stages", "[2, 2]"]) {
            _ = try ResNet(ResNet.Configuration(block: .basic, layers: [2, 2]), classes: 10)
        }
        expectError(["AlexNet", "channels", "five"]) { _ = try AlexNet(AlexNet.Configuration(channels: [8, 8]), classes: 10) }
        expectError(["DenseNet", "blocks", "[]"]) {
            _ = try DenseNet(DenseNet.Configuration(growthRate: 4, blocks: [], initialFeatures: 8), classes: 10)
        }
        expectError(["Linear", "outputFeatures", "got 0"]) { _ = try SmallModels.convNet(batchNorm: false, classes: 0) }
    }

    @Test func sequentialReplaceOfAnUnknownChild() throws {
        let model = try Sequential(named: [("fc", Linear(2, 2))])
        expectError(["Sequential", "no child 'head'", "fc"]) { try model.replace("head", with: try Linear(2, 3)) }
        try model.replace("fc", with: try Linear(2, 3))
        #expect((model.layers[0].layer as? Linear)?.outputFeatures == 3)
    }

    /// Valid arguments still build the layers they describe.
    @Test func validArgumentsBuild() throws {
        let conv = try Conv2D(4, 8, kernelSize: 3, groups: 2)
        #expect(conv.weight.shape == [8, 2, 3, 3])
        #expect(try Linear(3, 5).weight.shape == [5, 3])
        #expect(try Dropout(probability: 0).probability == 0)
    }
}
