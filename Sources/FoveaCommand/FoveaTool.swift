import ArgumentParser
import Fovea
import Foundation

/// `fovea`: train, evaluate and inspect convolutional networks.
@main
struct FoveaTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fovea",
        abstract: "Convolutional neural networks in Swift: train, evaluate, predict, inspect.",
        discussion: "The backend is chosen with --device or FOVEA_DEVICE (naive, dispatch, openblas, or check:<backend>, which compares every operation with naive), threads with --threads or FOVEA_THREADS.",
        version: FoveaVersion.current,
        subcommands: [TrainCommand.self, EvalCommand.self, PredictCommand.self, SummaryCommand.self, InferCommand.self,
                      FilterCommand.self, FeaturesCommand.self, KernelsCommand.self])

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
            fflush(nil)
        } catch {
            exit(withError: error)
        }
    }
}
