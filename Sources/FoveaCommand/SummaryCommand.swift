import ArgumentParser
import Fovea

struct SummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary", abstract: "Print a model's layers: output shapes, parameters, FLOPs, activation memory.")

    @Option(help: "Model: \(SmallModels.names.joined(separator: ", ")).")
    var model: String = "cnn-bn"
    @Option(help: "Input shape N×C×H×W, e.g. 1x1x28x28.")
    var input: String = "1x1x28x28"
    @Option(help: "Number of classes.")
    var classes: Int = 10

    func run() throws {
        let dimensions = input.lowercased().split(whereSeparator: { $0 == "x" || $0 == "×" }).map { Int($0) }
        guard dimensions.count == 4, dimensions.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("--input must be four positive sizes N×C×H×W, like 1x1x28x28; got '\(input)'")
        }
        let shape = Shape(dimensions.map { $0! })
        let network = try SmallModels.make(model, classes: classes, inputChannels: shape[1])
        print("\(model):")
        print(try network.summary(inputShape: shape))
    }
}
