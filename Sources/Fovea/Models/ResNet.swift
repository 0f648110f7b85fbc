/// ResNet as torchvision builds it (He et al., with the stride of a bottleneck on its 3×3
/// convolution, "v1.5"):
///
///     conv1 7×7/2 pad 3 → bn1 → relu → maxpool 3/2 pad 1
///     layer1 … layer4   stages of basic or bottleneck blocks; widths 64, 128, 256, 512
///                       (× 4 out of a bottleneck); stride 2 at the first block of layers 2–4
///     avgpool (global) → flatten → fc
///
/// Input `[N, 3, H, W]` (224 in the paper; any H, W ≥ 1 passes) → logits `[N, classes]`.
/// State-dict names are torchvision's (`conv1.weight`, `bn1.running_mean`,
/// `layer1.0.conv1.weight`, `layer2.0.downsample.0.weight`, `fc.weight`); the blocks' `relu1`,
/// `relu2` and the model's `flatten` are the parameter-free steps torchvision does in `forward()`.
/// Initialisation as torchvision's: convolutions Kaiming normal (fan-out, ReLU gain), batch norm
/// 1 and 0, `fc` PyTorch's default.
public final class ResNet: Sequential {
    /// The residual block of every stage.
    public enum Block: String, Sendable, Equatable {
        case basic, bottleneck

        /// Output channels per unit of stage width (1 for basic, 4 for bottleneck blocks).
        public var expansion: Int { self == .basic ? BasicBlock.expansion : Bottleneck.expansion }
    }

    /// The layout of the network; the static members are torchvision's five.
    public struct Configuration: Sendable, Equatable {
        public var block: Block
        /// Blocks per stage (four stages).
        public var layers: [Int]
        /// Stage widths (64, 128, 256, 512); the stem's convolution has `widths[0]` channels.
        public var widths: [Int]

        public init(block: Block, layers: [Int], widths: [Int] = [64, 128, 256, 512]) {
            self.block = block
            self.layers = layers
            self.widths = widths
        }

        /// - Throws: `.invalidArgument` unless there are four stages of at least one block and
        ///   four widths (the layers check the widths' values).
        public func validate() throws {
            let check = ArgumentCheck("ResNet")
            try check.require(layers.count == 4 && layers.allSatisfy { $0 >= 1 }, "layers",
                              mustBe: "four stages of ≥ 1 block", got: layers)
            try check.require(widths.count == 4, "widths", mustBe: "four stage widths", got: widths)
        }

        public static let resnet18 = Configuration(block: .basic, layers: [2, 2, 2, 2])
        public static let resnet34 = Configuration(block: .basic, layers: [3, 4, 6, 3])
        public static let resnet50 = Configuration(block: .bottleneck, layers: [3, 4, 6, 3])
        public static let resnet101 = Configuration(block: .bottleneck, layers: [3, 4, 23, 3])
        public static let resnet152 = Configuration(block: .bottleneck, layers: [3, 8, 36, 3])
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration, classes: Int = 1000, inputChannels: Int = 3, seed: UInt64 = 0) throws {
        try configuration.validate()
        self.configuration = configuration
        // The convolutions are built without drawing random values: the scheme below replaces them.
        var (layers, channels) = try Initializer.withoutRandomValues { try Self.makeBody(configuration, inputChannels: inputChannels) }
        layers += [
            ("avgpool", try AdaptiveAvgPool2D(outputSize: 1)),
            ("flatten", Flatten()),
            ("fc", try Linear(channels, classes, seed: seed)),
        ]
        try super.init(named: layers)
        initializeLayers(seed: seed) { layer, layerSeed in
            if let conv = layer as? Conv2D {
                conv.weight.value = Initializer.kaimingNormal(conv.weight.shape, fan: .fanOut, seed: layerSeed)
            }
        }
    }

    /// The stem and the four stages, and the channels they output.
    private static func makeBody(_ configuration: Configuration, inputChannels: Int) throws -> ([(String, Layer)], Int) {
        let stem = configuration.widths[0]
        var layers: [(String, Layer)] = [
            ("conv1", try Conv2D(inputChannels, stem, kernelSize: 7, stride: 2, padding: 3, bias: false)),
            ("bn1", try BatchNorm2D(stem)),
            ("relu", ReLU()),
            ("maxpool", try MaxPool2D(kernelSize: 3, stride: 2, padding: 1)),
        ]
        var channels = stem
        for (stage, (count, width)) in zip(configuration.layers, configuration.widths).enumerated() {
            let blocks: [Layer] = try (0..<count).map { index in
                let stride = stage > 0 && index == 0 ? 2 : 1
                let block: Layer = configuration.block == .basic
                    ? try BasicBlock(channels, width, stride: stride)
                    : try Bottleneck(channels, width, stride: stride)
                channels = width * configuration.block.expansion
                return block
            }
            layers.append(("layer\(stage + 1)", Sequential(blocks)))
        }
        return (layers, channels)
    }
}

/// torchvision's `resnet18()` … `resnet152()`: ResNet for 224×224×3 images.
public func resnet18(classes: Int = 1000, seed: UInt64 = 0) throws -> ResNet { try ResNet(.resnet18, classes: classes, seed: seed) }
public func resnet34(classes: Int = 1000, seed: UInt64 = 0) throws -> ResNet { try ResNet(.resnet34, classes: classes, seed: seed) }
public func resnet50(classes: Int = 1000, seed: UInt64 = 0) throws -> ResNet { try ResNet(.resnet50, classes: classes, seed: seed) }
public func resnet101(classes: Int = 1000, seed: UInt64 = 0) throws -> ResNet { try ResNet(.resnet101, classes: classes, seed: seed) }
public func resnet152(classes: Int = 1000, seed: UInt64 = 0) throws -> ResNet { try ResNet(.resnet152, classes: classes, seed: seed) }
