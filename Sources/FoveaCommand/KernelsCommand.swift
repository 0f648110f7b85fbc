import ArgumentParser
import Fovea
import Foundation

struct KernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Write the learned filters of a convolution layer as a grid.",
        discussion: """
            One tile per filter: in colour when the layer has 3 input channels, grey when it has 1; otherwise one \
            row of tiles per filter, one tile per input channel. Each tile is normalised on its own (most negative \
            weight → black, most positive → white) and scaled up with nearest-neighbour sampling.
            """)

    @Option(help: "Weights or checkpoint (safetensors).")
    var weights: String
    @Option(help: "Model (default: the one named in the weights file).")
    var model: String?
    @Option(help: "The convolution layer.")
    var layer: String = "conv1"
    @Option(help: "Scale each weight up to this many pixels (1 to 64).")
    var scale: Int = 12
    @Option(help: "Tiles per row, 1 to 4096 (default: about √filters, or the input channels).")
    var columns: Int?
    @Argument(help: "The output PNG.")
    var output: String

    func validate() throws {
        try OptionRange.check(scale, 1...64, flag: "--scale")
        try OptionRange.check(columns, 1...4096, flag: "--columns")
        try OutputPath.check(output, flag: "the output PNG")
    }

    func run() throws {
        let (network, name) = try loadTrainedModel(weights: weights, model: model)
        guard let convolution = network.layer(at: layer) as? Conv2D else {
            let names = network.namedLayers().filter { $0.layer is Conv2D }.map(\.name)
            throw FoveaError.invalidArgument("\(name) has no convolution layer '\(layer)'; its convolutions: \(names.joined(separator: ", "))")
        }
        let weight = convolution.weight.value
        let (tiles, rowLength) = try FeatureMaps.filterTiles(weight, layer: layer)
        let grid = try ImageGrid(columns: columns ?? rowLength, scale: scale, labelled: rowLength == nil, labelScale: 1)
        let rendered = try grid.render(tiles)
        try rendered.writePNG(to: URL(fileURLWithPath: output))
        let kind = weight.shape[1] == 3 ? "RGB" : "grey"
        print("\(name) \(layer): weight \(weight.shape), \(ImageKernel.formatted(weight.scalars.min() ?? 0))…\(ImageKernel.formatted(weight.scalars.max() ?? 0))")
        print("\(output): \(tiles.count) \(kind) tiles ×\(scale), \(rendered.width)×\(rendered.height)")
    }
}
