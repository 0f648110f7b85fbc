import ArgumentParser
import Fovea
import Foundation

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Test accuracy, per-class accuracy and the confusion matrix of trained weights.")

    @OptionGroup var data: DatasetOptions
    @OptionGroup var devices: DeviceOptions
    @Option(help: "Weights or checkpoint (safetensors).")
    var weights: String
    @Option(help: "Model (default: the one named in the weights file).")
    var model: String?
    @Option(help: "Evaluate on only the first N test images.")
    var limit: Int?
    @Option(name: .customLong("val-fraction"),
            help: "Image folder without val/ or test/: the held-out fraction to test on (default: the one the weights were trained with; 1 for every image).")
    var valFraction: Double?

    func validate() throws {
        if let valFraction, !(valFraction > 0 && valFraction <= 1) { throw ValidationError("--val-fraction must be in (0, 1], got \(valFraction)") }
        try OptionRange.check(limit, atLeast: 1, flag: "--limit")
    }

    func run() throws {
        let device = try devices.makeDevice()
        let checkpoint = try Checkpoint.load(from: URL(fileURLWithPath: weights))
        let stored = try InputPreparation(metadata: checkpoint.metadata, source: weights)
        let (test, input) = try TrainingData.forEvaluation(data, stored: stored, weights: weights, heldOutFraction: valFraction, limit: limit)
        let name = try modelName(given: model, checkpoint: checkpoint)
        let network = try Initializer.withoutRandomValues {
            try BuiltInModels.make(name, classes: test.classNames.count, inputChannels: input.channels.rawValue)
        }
        try checkpoint.restore(into: network)
        let trainer = Trainer(model: network, optimizer: try SGD([ParameterGroup]() , learningRate: 0), device: device)
        let report = try trainer.evaluate(try DataLoader(test, batchSize: 256, shuffle: false), classNames: test.classNames)
        print(String(format: "test accuracy %.2f%% (%d images), loss %.4f", report.accuracy * 100, report.images, report.loss))
        if let confusion = report.confusion { print(confusion) }
    }
}
