/// Built-in models for 28×28 grey images (MNIST, Fashion-MNIST), by name.
public enum SmallModels {
    public static let names = ["cnn", "cnn-bn", "resnet-small"]

    /// - Throws: `.invalidArgument` listing the valid names.
    public static func make(_ name: String, classes: Int = 10, inputChannels: Int = 1, seed: UInt64 = 0) throws -> Sequential {
        switch name {
        case "cnn": return try convNet(batchNorm: false, classes: classes, inputChannels: inputChannels, seed: seed)
        case "cnn-bn": return try convNet(batchNorm: true, classes: classes, inputChannels: inputChannels, seed: seed)
        case "resnet-small": return try resNetSmall(classes: classes, inputChannels: inputChannels, seed: seed)
        default:
            throw FoveaError.invalidArgument("unknown model '\(name)'; built-in models for 28×28 images are: \(names.joined(separator: ", "))")
        }
    }

    /// The classic "2 conv + pooling" network (optionally with batch norm after each convolution):
    /// conv 5×5 32 → [BN] → ReLU → max pool 2 → conv 5×5 64 → [BN] → ReLU → max pool 2 →
    /// flatten → linear 1024 → ReLU → dropout 0.3 → linear `classes`.
    public static func convNet(batchNorm: Bool, classes: Int = 10, inputChannels: Int = 1, seed: UInt64 = 0) throws -> Sequential {
        var layers: [(String, Layer)] = [("conv1", try Conv2D(inputChannels, 32, kernelSize: 5, padding: 2, bias: !batchNorm, seed: seed))]
        if batchNorm { layers.append(("bn1", try BatchNorm2D(32))) }
        layers += [("relu1", ReLU()), ("pool1", try MaxPool2D(kernelSize: 2)),
                   ("conv2", try Conv2D(32, 64, kernelSize: 5, padding: 2, bias: !batchNorm, seed: seed &+ 1))]
        if batchNorm { layers.append(("bn2", try BatchNorm2D(64))) }
        layers += [("relu2", ReLU()), ("pool2", try MaxPool2D(kernelSize: 2)), ("flatten", Flatten()),
                   ("fc1", try Linear(64 * 7 * 7, 1024, seed: seed &+ 2)), ("relu3", ReLU()),
                   ("dropout", try Dropout(probability: 0.3, seed: seed &+ 4)),
                   ("fc2", try Linear(1024, classes, seed: seed &+ 3))]
        return try Sequential(named: layers)
    }

    /// A small ResNet for 28×28 inputs (in the manner of the CIFAR ResNet-20): conv 3×3 16 → BN →
    /// ReLU → 3 stages of 2 basic blocks with 16, 32, 64 channels (stride 2 between stages) →
    /// global average pool → linear `classes`. Names as torchvision's ResNet (conv1, bn1, layer1…3, fc).
    public static func resNetSmall(classes: Int = 10, inputChannels: Int = 1, seed: UInt64 = 0) throws -> Sequential {
        try Sequential(named: [
            ("conv1", try Conv2D(inputChannels, 16, kernelSize: 3, padding: 1, bias: false, seed: seed)),
            ("bn1", try BatchNorm2D(16)),
            ("relu", ReLU()),
            ("layer1", Sequential([try BasicBlock(16, 16, seed: seed &+ 10), try BasicBlock(16, 16, seed: seed &+ 20)])),
            ("layer2", Sequential([try BasicBlock(16, 32, stride: 2, seed: seed &+ 30), try BasicBlock(32, 32, seed: seed &+ 40)])),
            ("layer3", Sequential([try BasicBlock(32, 64, stride: 2, seed: seed &+ 50), try BasicBlock(64, 64, seed: seed &+ 60)])),
            ("avgpool", try AdaptiveAvgPool2D(outputSize: 1)),
            ("flatten", Flatten()),
            ("fc", try Linear(64, classes, seed: seed &+ 70)),
        ])
    }
}
