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
    @Argument(help: "A PNG or JPEG image; it is prepared as the weights' training images were (stored in the checkpoint; else grey 28×28).")
    var image: String

    func validate() throws {
        try OptionRange.check(top, 1...1000, flag: "--top")
    }

    func run() throws {
        let device = try devices.makeDevice()
        let checkpoint = try Checkpoint.load(from: URL(fileURLWithPath: weights))
        let input = try InputPreparation(metadata: checkpoint.metadata, source: weights) ?? .legacy
        let names = input.classNames
        let name = try modelName(given: model, checkpoint: checkpoint)
        let network = try Initializer.withoutRandomValues { try BuiltInModels.make(name, classes: names.count, inputChannels: input.channels.rawValue) }
        try checkpoint.restore(into: network)
        network.eval()
        let picture = try Image.read(from: URL(fileURLWithPath: image), channels: input.channels)
        let pixels = input.prepare(picture, invert: invert)
        let logits = try network.forward(pixels.reshaped(to: [1, input.channels.rawValue, input.size, input.size]), device: device)
        let probabilities = device.softmaxForward(logits: logits, log: false).scalars
        print("\(image) (\(picture.width)×\(picture.height) → \(input.summary)):")
        for (rank, entry) in probabilities.enumerated().sorted(by: { $0.element > $1.element }).prefix(top).enumerated() {
            let name = names[entry.offset], width = max(12, names.map(\.count).max() ?? 0)
            print("  \(rank + 1). \(name + String(repeating: " ", count: width - name.count)) " + String(format: "%6.2f%%", entry.element * 100))
        }
    }
}
