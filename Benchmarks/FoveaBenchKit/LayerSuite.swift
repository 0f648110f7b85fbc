import Fovea

/// One convolution layer to time: input `[batch, C, size, size]`, `K` filters of `kernel×kernel`.
public struct BenchLayer: Sendable, Hashable {
    public var name: String
    public var inputChannels: Int
    public var size: Int
    public var outputChannels: Int
    public var kernel: Int
    public var options: Conv2DOptions

    public init(_ name: String, _ inputChannels: Int, _ outputChannels: Int, kernel: Int, size: Int, stride: Int = 1, padding: Int = 0) {
        self.name = name
        self.inputChannels = inputChannels
        self.size = size
        self.outputChannels = outputChannels
        self.kernel = kernel
        options = Conv2DOptions(stride: Size2D(stride), padding: Size2D(padding))
    }

    public func geometry(batch: Int) throws -> Conv2DGeometry {
        try Conv2DGeometry(
            inputShape: [batch, inputChannels, size, size],
            weightShape: [outputChannels, inputChannels / options.groups, kernel, kernel],
            options: options, name: name)
    }

    /// `2·N·K·C·R·S·P·Q`: the multiply-adds × 2 of one pass (forward, backward-data and
    /// backward-filter all cost the same).
    public func flops(batch: Int) throws -> Double { try geometry(batch: batch).flops }
}

/// The layers `fovea-bench layers` times.
public enum LayerSuite {
    /// ImageNet-sized layers of AlexNet, VGG16, ResNet-50 and DenseNet-121, and the five
    /// convnet-benchmarks layers.
    public static let imageNet: [BenchLayer] = [
        BenchLayer("alexnet.conv1 3→64 11×11/4 @224", 3, 64, kernel: 11, size: 224, stride: 4, padding: 2),
        BenchLayer("alexnet.conv2 64→192 5×5 @27", 64, 192, kernel: 5, size: 27, padding: 2),
        BenchLayer("alexnet.conv3 192→384 3×3 @13", 192, 384, kernel: 3, size: 13, padding: 1),
        BenchLayer("alexnet.conv4 384→256 3×3 @13", 384, 256, kernel: 3, size: 13, padding: 1),
        BenchLayer("alexnet.conv5 256→256 3×3 @13", 256, 256, kernel: 3, size: 13, padding: 1),
        BenchLayer("vgg16 3→64 3×3 @224", 3, 64, kernel: 3, size: 224, padding: 1),
        BenchLayer("vgg16 64→64 3×3 @224", 64, 64, kernel: 3, size: 224, padding: 1),
        BenchLayer("vgg16 64→128 3×3 @112", 64, 128, kernel: 3, size: 112, padding: 1),
        BenchLayer("vgg16 128→256 3×3 @56", 128, 256, kernel: 3, size: 56, padding: 1),
        BenchLayer("vgg16 256→256 3×3 @56", 256, 256, kernel: 3, size: 56, padding: 1),
        BenchLayer("vgg16 256→512 3×3 @28", 256, 512, kernel: 3, size: 28, padding: 1),
        BenchLayer("vgg16 512→512 3×3 @14", 512, 512, kernel: 3, size: 14, padding: 1),
        BenchLayer("resnet50.stem 3→64 7×7/2 @224", 3, 64, kernel: 7, size: 224, stride: 2, padding: 3),
        BenchLayer("resnet50 64→64 1×1 @56", 64, 64, kernel: 1, size: 56),
        BenchLayer("resnet50 64→64 3×3 @56", 64, 64, kernel: 3, size: 56, padding: 1),
        BenchLayer("resnet50 64→256 1×1 @56", 64, 256, kernel: 1, size: 56),
        BenchLayer("resnet50 256→64 1×1 @56", 256, 64, kernel: 1, size: 56),
        BenchLayer("resnet50 128→128 3×3 @28", 128, 128, kernel: 3, size: 28, padding: 1),
        BenchLayer("resnet50 256→256 3×3 @14", 256, 256, kernel: 3, size: 14, padding: 1),
        BenchLayer("resnet50 512→512 3×3 @7", 512, 512, kernel: 3, size: 7, padding: 1),
        BenchLayer("resnet50 512→2048 1×1 @7", 512, 2048, kernel: 1, size: 7),
        BenchLayer("densenet121 bottleneck 256→128 1×1 @56", 256, 128, kernel: 1, size: 56),
        BenchLayer("densenet121 growth 128→32 3×3 @56", 128, 32, kernel: 3, size: 56, padding: 1),
        BenchLayer("convnet-benchmarks L1 3→96 11×11 @128", 3, 96, kernel: 11, size: 128),
        BenchLayer("convnet-benchmarks L2 64→128 9×9 @64", 64, 128, kernel: 9, size: 64),
        BenchLayer("convnet-benchmarks L3 128→128 9×9 @32", 128, 128, kernel: 9, size: 32),
        BenchLayer("convnet-benchmarks L4 128→128 7×7 @16", 128, 128, kernel: 7, size: 16),
        BenchLayer("convnet-benchmarks L5 384→384 3×3 @13", 384, 384, kernel: 3, size: 13),
    ]

    /// Tiny layers for the CI smoke run.
    public static let tiny: [BenchLayer] = [
        BenchLayer("tiny 3→8 3×3 @16", 3, 8, kernel: 3, size: 16, padding: 1),
        BenchLayer("tiny 8→8 1×1 @8", 8, 8, kernel: 1, size: 8),
    ]
}
