/// VGG as torchvision builds it (Simonyan & Zisserman, configurations A, B, D, E = VGG-11, 13,
/// 16, 19, optionally with batch norm after every convolution):
///
///     features    per entry: conv 3×3 pad 1 → [BN] → ReLU, or max pool 2/2
///     avgpool     adaptive average pool to 7×7
///     flatten
///     classifier  linear 25088→4096 → ReLU → dropout → linear 4096→4096 → ReLU → dropout
///                 → linear 4096→classes
///
/// Input `[N, 3, H, W]` with H, W ≥ 32 (224 in the paper) → logits `[N, classes]`. State-dict
/// names are torchvision's (`features.0.weight`, `features.1.running_mean` with batch norm,
/// `classifier.6.bias`). Initialisation as torchvision's: convolutions Kaiming normal (fan-out,
/// ReLU gain) with zero bias, batch norm 1 and 0, linear weights normal(0, 0.01) with zero bias.
public final class VGG: Sequential {
    /// One entry of the `features` list.
    public enum Item: Sendable, Equatable {
        /// A 3×3 convolution with this many output channels (then [BN] and ReLU).
        case conv(Int)
        /// A 2×2 max pool with stride 2.
        case maxPool
    }

    /// The layout of the network; the static members are torchvision's four.
    public struct Configuration: Sendable, Equatable {
        public var features: [Item]
        /// Batch norm after every convolution (the `_bn` models).
        public var batchNorm: Bool
        /// The side of the adaptive average pool's output (7).
        public var pooledSize: Int
        /// The width of the two hidden linear layers (4096).
        public var hiddenFeatures: Int
        /// Dropout probability after the two hidden linear layers (0.5).
        public var dropout: Float

        public init(features: [Item], batchNorm: Bool = false, pooledSize: Int = 7, hiddenFeatures: Int = 4096, dropout: Float = 0.5) {
            self.features = features
            self.batchNorm = batchNorm
            self.pooledSize = pooledSize
            self.hiddenFeatures = hiddenFeatures
            self.dropout = dropout
        }

        /// `features` from a compact list: a number is a convolution's width, 0 a max pool.
        public static func layout(_ widths: [Int]) -> [Item] { widths.map { $0 == 0 ? .maxPool : .conv($0) } }

        /// Configurations A, B, D, E (VGG-11, 13, 16, 19), with or without batch norm.
        public static func vgg11(batchNorm: Bool = false) -> Configuration {
            Configuration(features: layout([64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0]), batchNorm: batchNorm)
        }
        public static func vgg13(batchNorm: Bool = false) -> Configuration {
            Configuration(features: layout([64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0]), batchNorm: batchNorm)
        }
        public static func vgg16(batchNorm: Bool = false) -> Configuration {
            Configuration(features: layout([64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0]), batchNorm: batchNorm)
        }
        public static func vgg19(batchNorm: Bool = false) -> Configuration {
            Configuration(features: layout([64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0]),
                          batchNorm: batchNorm)
        }
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration, classes: Int = 1000, inputChannels: Int = 3, seed: UInt64 = 0) throws {
        self.configuration = configuration
        // Built without drawing random values: the scheme below replaces every weight.
        let (features, classifier) = try Initializer.withoutRandomValues {
            try Self.makeLayers(configuration, classes: classes, inputChannels: inputChannels, seed: seed)
        }
        try super.init(named: [
            ("features", features),
            ("avgpool", try AdaptiveAvgPool2D(outputSize: Size2D(configuration.pooledSize))),
            ("flatten", Flatten()),
            ("classifier", classifier),
        ])
        initializeLayers(seed: seed) { layer, layerSeed in
            if let conv = layer as? Conv2D {
                conv.weight.value = Initializer.kaimingNormal(conv.weight.shape, fan: .fanOut, seed: layerSeed)
                conv.bias?.value = Tensor(zeros: [conv.outputChannels])
            } else if let linear = layer as? Linear {
                linear.weight.value = Initializer.normal(linear.weight.shape, standardDeviation: 0.01, seed: layerSeed)
                linear.bias?.value = Tensor(zeros: [linear.outputFeatures])
            }
        }
    }

    /// The `features` and `classifier` stacks.
    private static func makeLayers(_ configuration: Configuration, classes: Int, inputChannels: Int, seed: UInt64) throws -> (Sequential, Sequential) {
        var layers: [Layer] = []
        var channels = inputChannels
        for item in configuration.features {
            switch item {
            case .maxPool:
                layers.append(try MaxPool2D(kernelSize: 2, stride: 2))
            case .conv(let width):
                layers.append(try Conv2D(channels, width, kernelSize: 3, padding: 1))
                if configuration.batchNorm { layers.append(try BatchNorm2D(width)) }
                layers.append(ReLU())
                channels = width
            }
        }
        let pooled = configuration.pooledSize, hidden = configuration.hiddenFeatures
        let classifier = Sequential([
            try Linear(channels * pooled * pooled, hidden),
            ReLU(),
            try Dropout(probability: configuration.dropout, seed: seed &+ 1),
            try Linear(hidden, hidden),
            ReLU(),
            try Dropout(probability: configuration.dropout, seed: seed &+ 2),
            try Linear(hidden, classes),
        ])
        return (Sequential(layers), classifier)
    }
}

/// torchvision's `vgg11()` … `vgg19_bn()`: VGG for 224×224×3 images.
public func vgg11(classes: Int = 1000, seed: UInt64 = 0) throws -> VGG { try VGG(.vgg11(), classes: classes, seed: seed) }
public func vgg13(classes: Int = 1000, seed: UInt64 = 0) throws -> VGG { try VGG(.vgg13(), classes: classes, seed: seed) }
public func vgg16(classes: Int = 1000, seed: UInt64 = 0) throws -> VGG { try VGG(.vgg16(), classes: classes, seed: seed) }
public func vgg19(classes: Int = 1000, seed: UInt64 = 0) throws -> VGG { try VGG(.vgg19(), classes: classes, seed: seed) }
public func vgg11_bn(classes: Int = 1000, seed: UInt64 = 0) throws -> VGG { try VGG(.vgg11(batchNorm: true), classes: classes, seed: seed) }
public func vgg13_bn(classes: Int = 1000, seed: UInt64 = 0) throws -> VGG { try VGG(.vgg13(batchNorm: true), classes: classes, seed: seed) }
public func vgg16_bn(classes: Int = 1000, seed: UInt64 = 0) throws -> VGG { try VGG(.vgg16(batchNorm: true), classes: classes, seed: seed) }
public func vgg19_bn(classes: Int = 1000, seed: UInt64 = 0) throws -> VGG { try VGG(.vgg19(batchNorm: true), classes: classes, seed: seed) }
