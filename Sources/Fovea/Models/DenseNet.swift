/// DenseNet-BC as torchvision builds it (Huang et al.):
///
///     features    conv0 7×7/2 pad 3 → norm0 → relu0 → pool0 (max 3/2 pad 1)
///                 → denseblock1 → transition1 → … → denseblock4 → norm5
///     relu → avgpool (global) → flatten → classifier
///
/// Each dense block adds `layers·growthRate` channels; each transition halves the channels
/// (rounding down) and the resolution. Input `[N, 3, H, W]` with H, W ≥ 29 (224 in the paper)
/// → logits `[N, classes]`. State-dict names are torchvision's (`features.conv0.weight`,
/// `features.denseblock1.denselayer1.norm1.weight`, `features.transition1.conv.weight`,
/// `features.norm5.weight`, `classifier.weight`); `relu`, `avgpool` and `flatten` are the
/// parameter-free steps torchvision does in `forward()`. Initialisation as torchvision's:
/// convolutions Kaiming normal (fan-in, ReLU gain), batch norm 1 and 0, the classifier's weight
/// PyTorch's default and its bias 0.
public final class DenseNet: Sequential {
    /// The layout of the network; the static members are torchvision's four.
    public struct Configuration: Sendable, Equatable {
        /// Channels each dense layer adds (k: 32, or 48 for DenseNet-161).
        public var growthRate: Int
        /// Dense layers per block.
        public var blocks: [Int]
        /// Channels of the stem convolution (64, or 96 for DenseNet-161).
        public var initialFeatures: Int
        /// A dense layer's 1×1 convolution has `bottleneckWidth·growthRate` channels (4).
        public var bottleneckWidth: Int
        /// Dropout after each dense layer (0).
        public var dropRate: Float

        public init(growthRate: Int, blocks: [Int], initialFeatures: Int, bottleneckWidth: Int = 4, dropRate: Float = 0) {
            self.growthRate = growthRate
            self.blocks = blocks
            self.initialFeatures = initialFeatures
            self.bottleneckWidth = bottleneckWidth
            self.dropRate = dropRate
        }

        /// - Throws: `.invalidArgument` naming the first size < 1 or an empty `blocks`.
        public func validate() throws {
            let check = ArgumentCheck("DenseNet")
            try check.atLeast(1, growthRate, "growthRate")
            try check.atLeast(1, initialFeatures, "initialFeatures")
            try check.atLeast(1, bottleneckWidth, "bottleneckWidth")
            try check.require(!blocks.isEmpty && blocks.allSatisfy { $0 >= 1 }, "blocks",
                              mustBe: "at least one block of ≥ 1 layer each", got: blocks)
        }

        public static let densenet121 = Configuration(growthRate: 32, blocks: [6, 12, 24, 16], initialFeatures: 64)
        public static let densenet161 = Configuration(growthRate: 48, blocks: [6, 12, 36, 24], initialFeatures: 96)
        public static let densenet169 = Configuration(growthRate: 32, blocks: [6, 12, 32, 32], initialFeatures: 64)
        public static let densenet201 = Configuration(growthRate: 32, blocks: [6, 12, 48, 32], initialFeatures: 64)
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration, classes: Int = 1000, inputChannels: Int = 3, seed: UInt64 = 0) throws {
        try configuration.validate()
        self.configuration = configuration
        // Built without drawing random values: the scheme below replaces every convolution.
        let (features, channels) = try Initializer.withoutRandomValues {
            try Self.makeFeatures(configuration, inputChannels: inputChannels, seed: seed)
        }
        try super.init(named: [
            ("features", features),
            ("relu", ReLU()),
            ("avgpool", try AdaptiveAvgPool2D(outputSize: 1)),
            ("flatten", Flatten()),
            ("classifier", try Linear(channels, classes, seed: seed)),
        ])
        initializeLayers(seed: seed) { layer, layerSeed in
            if let conv = layer as? Conv2D {
                conv.weight.value = Initializer.kaimingNormal(conv.weight.shape, fan: .fanIn, seed: layerSeed)
            } else if let linear = layer as? Linear {
                linear.bias?.value = Tensor(zeros: [linear.outputFeatures])
            }
        }
    }

    /// The `features` stack (stem, dense blocks, transitions, final norm) and its output channels.
    private static func makeFeatures(_ configuration: Configuration, inputChannels: Int, seed: UInt64) throws -> (Sequential, Int) {
        let growth = configuration.growthRate
        var channels = configuration.initialFeatures
        var features: [(String, Layer)] = [
            ("conv0", try Conv2D(inputChannels, channels, kernelSize: 7, stride: 2, padding: 3, bias: false)),
            ("norm0", try BatchNorm2D(channels)),
            ("relu0", ReLU()),
            ("pool0", try MaxPool2D(kernelSize: 3, stride: 2, padding: 1)),
        ]
        for (index, count) in configuration.blocks.enumerated() {
            features.append(("denseblock\(index + 1)", try DenseBlock(
                layers: count, inputChannels: channels, growthRate: growth,
                bottleneckWidth: configuration.bottleneckWidth, dropRate: configuration.dropRate, seed: seed &+ UInt64(index) &* 1000)))
            channels += count * growth
            if index < configuration.blocks.count - 1 {
                features.append(("transition\(index + 1)", try Transition(inputChannels: channels, outputChannels: channels / 2)))
                channels /= 2
            }
        }
        features.append(("norm5", try BatchNorm2D(channels)))
        return (try Sequential(named: features), channels)
    }
}

/// torchvision's `densenet121()` … `densenet201()`: DenseNet-BC for 224×224×3 images.
public func densenet121(classes: Int = 1000, seed: UInt64 = 0) throws -> DenseNet { try DenseNet(.densenet121, classes: classes, seed: seed) }
public func densenet161(classes: Int = 1000, seed: UInt64 = 0) throws -> DenseNet { try DenseNet(.densenet161, classes: classes, seed: seed) }
public func densenet169(classes: Int = 1000, seed: UInt64 = 0) throws -> DenseNet { try DenseNet(.densenet169, classes: classes, seed: seed) }
public func densenet201(classes: Int = 1000, seed: UInt64 = 0) throws -> DenseNet { try DenseNet(.densenet201, classes: classes, seed: seed) }
