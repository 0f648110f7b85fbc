import ArgumentParser
import Fovea
import Foundation

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict", abstract: "Classify an image file with trained weights and print the top classes.")

    @OptionGroup var devices: DeviceOptions
    @Option(help: "Weights or checkpoint (safetensors).")
    var weights: String
    @Option(help: "Model (default: the one named in the weights file).")
    var model: String?
    @Option(help: "How many classes to print (1 to 1000).")
    var top: Int = 3
    @Flag(help: "Invert grey levels (Fashion-MNIST shows light clothes on black; photos are usually the opposite).")
    var invert = false
    @Argument(help: "A PNG or JPEG image; it is converted to grey and resized to 28×28.")
    var image: String

    func validate() throws {
        try OptionRange.check(top, 1...1000, flag: "--top")
    }

    func run() throws {
        let device = try devices.makeDevice()
        let checkpoint = try Checkpoint.load(from: URL(fileURLWithPath: weights))
        let names = MNISTDataset.fashionClassNames
        let name = try modelName(given: model, checkpoint: checkpoint)
        let network = try Initializer.withoutRandomValues { try BuiltInModels.make(name, classes: names.count, inputChannels: 1) }
        try checkpoint.restore(into: network)
        network.eval()
        let picture = try Image.read(from: URL(fileURLWithPath: image), channels: .grey)
        var pixels = ImageFolderDataset.prepare(picture, resize: 28, crop: 28, mean: [0], standardDeviation: [1])
        if invert { pixels.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] = 1 - $0[i] } } }
        let logits = try network.forward(pixels.reshaped(to: [1, 1, 28, 28]), device: device)
        let probabilities = device.softmaxForward(logits: logits, log: false).scalars
        print("\(image) (\(picture.width)×\(picture.height), \(picture.channels == 1 ? "grey" : "RGB") → 28×28 grey):")
        for (rank, entry) in probabilities.enumerated().sorted(by: { $0.element > $1.element }).prefix(top).enumerated() {
            print(String(format: "  %d. %-12@ %6.2f%%", rank + 1, names[entry.offset], entry.element * 100))
        }
    }
}
