/// AlexNet as torchvision builds it (the single-tower "one weird trick" variant, 61.1 M
/// parameters at 1000 classes):
///
///     features    conv 11×11/4 pad 2 → ReLU → max 3/2 → conv 5×5 pad 2 → ReLU → max 3/2
///                 → conv 3×3 → ReLU → conv 3×3 → ReLU → conv 3×3 → ReLU → max 3/2
///     avgpool     adaptive average pool to 6×6
///     flatten
///     classifier  dropout → linear 9216→4096 → ReLU → dropout → linear 4096→4096 → ReLU
///                 → linear 4096→classes
///
/// Input `[N, 3, H, W]` with H, W ≥ 63 (224 in the paper) → logits `[N, classes]`. State-dict
/// names are torchvision's (`features.0.weight`, `classifier.1.weight`, …); `flatten` is the
/// parameter-free step torchvision does in `forward()`. Initialisation is PyTorch's default
/// (torchvision does not override it for AlexNet).
public final class AlexNet: Sequential {
    /// The widths of the network; `.standard` is torchvision's.
    public struct Configuration: Sendable, Equatable {
        /// Output channels of the five convolutions.
        public var channels: [Int]
        /// The side of the adaptive average pool's output (6).
        public var pooledSize: Int
        /// The width of the two hidden linear layers (4096).
        public var hiddenFeatures: Int
        /// Dropout probability before the first two linear layers (0.5).
        public var dropout: Float

        public init(channels: [Int], pooledSize: Int = 6, hiddenFeatures: Int = 4096, dropout: Float = 0.5) {
            self.channels = channels
            self.pooledSize = pooledSize
            self.hiddenFeatures = hiddenFeatures
            self.dropout = dropout
        }

        /// - Throws: `.invalidArgument` unless there are five widths (the layers check the rest).
        public func validate() throws {
            try ArgumentCheck("AlexNet").require(channels.count == 5, "channels", mustBe: "five convolution widths", got: channels)
        }

        public static let standard = Configuration(channels: [64, 192, 384, 256, 256])
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration = .standard, classes: Int = 1000, inputChannels: Int = 3, seed: UInt64 = 0) throws {
        try configuration.validate()
        self.configuration = configuration
        let c = configuration.channels, pooled = configuration.pooledSize, hidden = configuration.hiddenFeatures
        let features = Sequential([
            try Conv2D(inputChannels, c[0], kernelSize: 11, stride: 4, padding: 2, seed: seed),
            ReLU(),
            try MaxPool2D(kernelSize: 3, stride: 2),
            try Conv2D(c[0], c[1], kernelSize: 5, padding: 2, seed: seed &+ 1),
            ReLU(),
            try MaxPool2D(kernelSize: 3, stride: 2),
            try Conv2D(c[1], c[2], kernelSize: 3, padding: 1, seed: seed &+ 2),
            ReLU(),
            try Conv2D(c[2], c[3], kernelSize: 3, padding: 1, seed: seed &+ 3),
            ReLU(),
            try Conv2D(c[3], c[4], kernelSize: 3, padding: 1, seed: seed &+ 4),
            ReLU(),
            try MaxPool2D(kernelSize: 3, stride: 2),
        ])
        let classifier = Sequential([
            try Dropout(probability: configuration.dropout, seed: seed &+ 10),
            try Linear(c[4] * pooled * pooled, hidden, seed: seed &+ 11),
            ReLU(),
            try Dropout(probability: configuration.dropout, seed: seed &+ 12),
            try Linear(hidden, hidden, seed: seed &+ 13),
            ReLU(),
            try Linear(hidden, classes, seed: seed &+ 14),
        ])
        try super.init(named: [
            ("features", features),
            ("avgpool", try AdaptiveAvgPool2D(outputSize: Size2D(pooled))),
            ("flatten", Flatten()),
            ("classifier", classifier),
        ])
    }
}

/// torchvision's `alexnet()`: AlexNet for 224×224×3 images, 61,100,840 parameters at 1000 classes.
public func alexnet(classes: Int = 1000, seed: UInt64 = 0) throws -> AlexNet {
    try AlexNet(classes: classes, seed: seed)
}
