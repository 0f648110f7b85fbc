import Fovea

/// One convolution layer to time: input `[batch, C, H, W]`, `K` filters of `R×S`.
struct BenchLayer: Sendable {
    var name: String
    var inputChannels: Int
    var size: Int
    var outputChannels: Int
    var kernel: Int
    var options: Conv2DOptions

    /// The ImageNet-sized layers of issue #2's first benchmark.
    static let foundationSuite: [BenchLayer] = [
        BenchLayer(name: "resnet50.stem 3→64 7×7/2 @224", inputChannels: 3, size: 224, outputChannels: 64, kernel: 7,
                   options: Conv2DOptions(stride: 2, padding: 3)),
        BenchLayer(name: "resnet 3×3 64→64 @56", inputChannels: 64, size: 56, outputChannels: 64, kernel: 3,
                   options: Conv2DOptions(padding: 1)),
        BenchLayer(name: "vgg16 3×3 256→256 @56", inputChannels: 256, size: 56, outputChannels: 256, kernel: 3,
                   options: Conv2DOptions(padding: 1)),
    ]

    func geometry(batch: Int) throws -> Conv2DGeometry {
        try Conv2DGeometry(
            inputShape: [batch, inputChannels, size, size],
            weightShape: [outputChannels, inputChannels / options.groups, kernel, kernel],
            options: options, name: name)
    }
}
