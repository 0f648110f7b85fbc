import Fovea
import Testing

/// Invalid layer and model arguments throw `FoveaError.invalidArgument` naming the layer, the
/// argument and the valid range (they used to trap, with the message stripped in release builds).
@Suite("Layer argument errors")
struct LayerArgumentTests {
    @Test func linear() {
        expectInvalidArgument(["Linear", "inputFeatures", "≥ 1", "got 0"]) { _ = try Linear(0, 4) }
        expectInvalidArgument(["Linear", "outputFeatures", "≥ 1", "got -2"]) { _ = try Linear(3, -2) }
    }

    @Test func conv2D() {
        expectInvalidArgument(["Conv2D", "inputChannels 3", "divisible by groups 2"]) { _ = try Conv2D(3, 8, kernelSize: 3, groups: 2) }
        expectInvalidArgument(["Conv2D", "outputChannels 5", "divisible by groups 2"]) { _ = try Conv2D(4, 5, kernelSize: 3, groups: 2) }
        expectInvalidArgument(["Conv2D", "inputChannels", "≥ 1", "got 0"]) { _ = try Conv2D(0, 8, kernelSize: 3) }
        expectInvalidArgument(["Conv2D", "kernelSize", "≥ 1", "(3, 0)"]) { _ = try Conv2D(1, 8, kernelSize: Size2D(height: 3, width: 0)) }
        expectInvalidArgument(["Conv2D", "kernelSize", "≥ 1", "-1"]) { _ = try Conv2D(1, 8, kernelSize: -1) }
        expectInvalidArgument(["Conv2D", "stride", "≥ 1", "got 0"]) { _ = try Conv2D(1, 8, kernelSize: 3, stride: 0) }
        expectInvalidArgument(["Conv2D", "padding", "≥ 0", "got -1"]) { _ = try Conv2D(1, 8, kernelSize: 3, padding: -1) }
        expectInvalidArgument(["Conv2D", "dilation", "≥ 1", "got 0"]) { _ = try Conv2D(1, 8, kernelSize: 3, dilation: 0) }
        expectInvalidArgument(["Conv2D", "groups", "≥ 1", "got 0"]) { _ = try Conv2D(4, 8, kernelSize: 3, groups: 0) }
    }

    @Test func dropout() {
        expectInvalidArgument(["Dropout", "probability", "[0, 1)", "got 1.0"]) { _ = try Dropout(probability: 1) }
        expectInvalidArgument(["Dropout", "probability", "[0, 1)", "-0.1"]) { _ = try Dropout(probability: -0.1) }
        expectInvalidArgument(["Dropout", "probability", "nan"]) { _ = try Dropout(probability: .nan) }
    }

    @Test func batchNorm() {
        expectInvalidArgument(["BatchNorm2D", "channels", "≥ 1", "got 0"]) { _ = try BatchNorm2D(0) }
        expectInvalidArgument(["BatchNorm2D", "epsilon", "> 0", "got 0.0"]) { _ = try BatchNorm2D(4, epsilon: 0) }
        expectInvalidArgument(["BatchNorm2D", "momentum", "[0, 1]", "got 1.5"]) { _ = try BatchNorm2D(4, momentum: 1.5) }
    }

    @Test func localResponseNorm() {
        expectInvalidArgument(["LocalResponseNorm", "size", "≥ 1", "got 0"]) { _ = try LocalResponseNorm(size: 0) }
        expectInvalidArgument(["LocalResponseNorm", "k", "> 0", "got -1.0"]) { _ = try LocalResponseNorm(size: 3, k: -1) }
        expectInvalidArgument(["LocalResponseNorm", "alpha", "≥ 0", "inf"]) { _ = try LocalResponseNorm(size: 3, alpha: .infinity) }
    }

    @Test func pooling() {
        expectInvalidArgument(["MaxPool2D", "kernelSize", "≥ 1", "got 0"]) { _ = try MaxPool2D(kernelSize: 0) }
        expectInvalidArgument(["MaxPool2D", "padding 2", "half the kernel 3"]) { _ = try MaxPool2D(kernelSize: 3, padding: 2) }
        expectInvalidArgument(["AvgPool2D", "stride", "≥ 1", "got 0"]) { _ = try AvgPool2D(kernelSize: 2, stride: 0) }
        expectInvalidArgument(["AdaptiveAvgPool2D", "outputSize", "≥ 1", "got 0"]) { _ = try AdaptiveAvgPool2D(outputSize: 0) }
    }

    @Test func modelConfigurations() {
        expectInvalidArgument(["ResNet", "layers", "four stages", "[2, 2]"]) {
            _ = try ResNet(ResNet.Configuration(block: .basic, layers: [2, 2]), classes: 10)
        }
        expectInvalidArgument(["AlexNet", "channels", "five"]) { _ = try AlexNet(AlexNet.Configuration(channels: [8, 8]), classes: 10) }
        expectInvalidArgument(["DenseNet", "blocks", "[]"]) {
            _ = try DenseNet(DenseNet.Configuration(growthRate: 4, blocks: [], initialFeatures: 8), classes: 10)
        }
        expectInvalidArgument(["Linear", "outputFeatures", "got 0"]) { _ = try SmallModels.convNet(batchNorm: false, classes: 0) }
    }

    @Test func sequentialReplaceOfAnUnknownChild() throws {
        let model = try Sequential(named: [("fc", Linear(2, 2))])
        expectInvalidArgument(["Sequential", "no child 'head'", "fc"]) { try model.replace("head", with: try Linear(2, 3)) }
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
