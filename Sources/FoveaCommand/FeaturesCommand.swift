import ArgumentParser
import Fovea
import Foundation

struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Write a layer's activation maps for one image as a grid of tiles, one per channel.",
        discussion: """
            The image (a file, or test:N for the N-th image of the --dataset test set) is converted to grey and \
            resized to 28×28 as `fovea predict` does, run through the model up to \
            and including --layer, and each channel of that layer's output becomes one tile, normalised on its own \
            (min → black, max → white), scaled up, numbered in its top-left corner.
            """)

    @OptionGroup var devices: DeviceOptions
    @OptionGroup var data: DatasetOptions
    @Option(help: "Weights or checkpoint (safetensors).")
    var weights: String
    @Option(help: "Model (default: the one named in the weights file).")
    var model: String?
    @Option(help: "The layer whose output to show, e.g. conv1, relu1, pool2 (see `fovea summary`).")
    var layer: String
    @Flag(help: "Invert grey levels (Fashion-MNIST shows light clothes on black).")
    var invert = false
    @Option(help: "Scale each tile up by this factor, 1 to 64 (default: to about 112 pixels).")
    var scale: Int?
    @Option(help: "Tiles per row, 1 to 4096 (default: about √channels).")
    var columns: Int?
    @Option(name: .customLong("save-input"), help: "Also write the 28×28 input the model saw (scaled like the tiles) as PNG.")
    var saveInput: String?
    @Argument(help: "A PNG or JPEG image, or test:N for the N-th test image of --dataset.")
    var image: String
    @Argument(help: "The output PNG.")
    var output: String

    func validate() throws {
        try OptionRange.check(scale, 1...64, flag: "--scale")
        try OptionRange.check(columns, 1...4096, flag: "--columns")
        if image.hasPrefix("test:") { _ = try testIndex() }
        try OutputPath.check(output, flag: "the output PNG")
        if let saveInput { try OutputPath.check(saveInput, flag: "--save-input") }
    }

    /// N of `test:N`.
    func testIndex() throws -> Int {
        guard let index = Int(image.dropFirst(5)), (0..<1_000_000).contains(index) else {
            throw ValidationError("expected test:N with N from 0 to 999999, got '\(image)'")
        }
        return index
    }

    func run() throws {
        let device = try devices.makeDevice()
        let (network, name) = try loadTrainedModel(weights: weights, model: model)
        var (pixels, source) = try loadInput()
        if invert { pixels.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] = 1 - $0[i] } } }
        let activation = try network.forward(pixels.reshaped(to: [1, 1, 28, 28]), device: device, upTo: layer)
        let tiles = try FeatureMaps.channelTiles(activation, layer: layer)
        let height = activation.shape[2]
        let grid = try ImageGrid(columns: columns, scale: scale ?? max(1, (112 + height - 1) / height), labelScale: 2)
        let rendered = try grid.render(tiles)
        try rendered.writePNG(to: URL(fileURLWithPath: output))
        if let saveInput {
            try ImageGrid(scale: grid.scale, normalization: .none, labelled: false)
                .render([ImageTransforms.normalize(pixels, mean: [0], standardDeviation: [1.0 / 255])])
                .writePNG(to: URL(fileURLWithPath: saveInput))
        }
        let layout = grid.layout(tileCount: tiles.count, tileHeight: height, tileWidth: activation.shape[3])
        print("\(source)\(invert ? ", inverted" : "") through \(name) up to \(layer): \(activation.shape)")
        print("\(output): \(tiles.count) tiles of \(activation.shape[2])×\(activation.shape[3]) ×\(grid.scale) in \(layout.rows) rows × \(layout.columns) columns, \(rendered.width)×\(rendered.height)")
    }

    /// The 28×28 grey input `[1, 28, 28]` in [0, 1] and a description of where it came from.
    func loadInput() throws -> (Tensor, String) {
        if image.hasPrefix("test:") {
            let index = try testIndex()
            let test = try data.load(.test, limit: index + 1)
            guard index < test.count else {
                throw FoveaError.invalidArgument("\(image): the \(data.dataset) test set has only \(test.count) images")
            }
            let (pixels, label) = try test.example(at: index)
            return (pixels, "\(data.dataset) test image \(index) (\(test.classNames[label]))")
        }
        let picture = try Image.read(from: URL(fileURLWithPath: image), channels: .grey)
        let pixels = ImageFolderDataset.prepare(picture, resize: 28, crop: 28, mean: [0], standardDeviation: [1])
        return (pixels, "\(image) (\(picture.width)×\(picture.height) → 28×28 grey)")
    }
}
