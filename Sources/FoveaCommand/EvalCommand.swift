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

    func validate() throws {
        try OptionRange.check(limit, atLeast: 1, flag: "--limit")
    }

    func run() throws {
        let device = try devices.makeDevice()
        let checkpoint = try Checkpoint.load(from: URL(fileURLWithPath: weights))
        let test = try data.load(.test, limit: limit)
        let name = try modelName(given: model, checkpoint: checkpoint)
        let network = try Initializer.withoutRandomValues { try BuiltInModels.make(name, classes: test.classNames.count, inputChannels: 1) }
        try checkpoint.restore(into: network)
        let trainer = Trainer(model: network, optimizer: try SGD([ParameterGroup]() , learningRate: 0), device: device)
        let report = try trainer.evaluate(try DataLoader(test, batchSize: 256, shuffle: false), classNames: test.classNames)
        print(String(format: "test accuracy %.2f%% (%d images), loss %.4f", report.accuracy * 100, report.images, report.loss))
        if let confusion = report.confusion { print(confusion) }
    }
}
