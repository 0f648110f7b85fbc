import ArgumentParser
import Fovea
import Foundation

struct SummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary", abstract: "Print a model's layers: output shapes, parameters, FLOPs, activation memory.")

    @OptionGroup var devices: DeviceOptions
    @Option(help: "Model: \(SmallModels.names.joined(separator: ", ")) (28×28 grey) or \(ModelZoo.names.joined(separator: ", ")) (224×224 RGB).")
    var model: String = "cnn-bn"
    @Option(help: "Input shape N×C×H×W (default: the model's, 1x1x28x28 or 1x3x224x224).")
    var input: String?
    @Option(help: "Number of classes, 1 to 65536 (default: the model's, 10 or 1000).")
    var classes: Int?
    @Flag(help: "Also time a forward pass (evaluation mode, zero weights) on the device.")
    var time = false

    func validate() throws {
        try OptionRange.check(classes, 1...OptionRange.largestClassCount, flag: "--classes")
        if let input { _ = try parseShape(input) }
    }

    func run() throws {
        let device = time ? try devices.makeDevice() : nil  // its line first, as in every command that computes
        let defaults = try BuiltInModels.defaults(for: model)
        let shape = try input.map(parseShape) ?? defaults.inputShape
        // The table needs shapes only: skip drawing millions of random weights.
        let network = try Initializer.withoutRandomValues {
            try BuiltInModels.make(model, classes: classes, inputChannels: shape[1])
        }
        let summary = try network.summary(inputShape: shape)
        if time {
            // Before printing anything: the timed pass allocates the input and every activation.
            try AllocationLimit.check(shape, for: "--time: the input batch")
            try network.checkActivationSizes(for: shape)
        }
        print("\(model):")
        print(summary)
        print(String(format: "%@ parameters, %.2f GFLOPs per forward pass of %@", grouped(summary.totalParameters),
                     summary.totalFlops / 1e9, shape.description))
        if let device { try timeForward(network, shape: shape, flops: summary.totalFlops, device: device) }
    }

    /// One warm-up pass, then the best of three.
    func timeForward(_ network: Layer, shape: Shape, flops: Double, device: any Device) throws {
        network.eval()
        let x = Tensor.randomNormal(shape, seed: 1)
        _ = try network.forward(x, device: device)
        var best = Double.infinity
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try network.forward(x, device: device)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        print(String(format: "forward pass: %.1f ms (%.1f GFLOP/s) on %@", best * 1e3, flops / best / 1e9, Devices.describe(device)))
    }
}

/// Parses "N×C×H×W" (or with x) into a 4-D shape.
func parseShape(_ text: String) throws -> Shape {
    let dimensions = text.lowercased().split(whereSeparator: { $0 == "x" || $0 == "×" }).map { Int($0) }
    guard dimensions.count == 4, dimensions.allSatisfy({ ($0 ?? 0) > 0 }) else {
        throw ValidationError("--input must be four positive sizes N×C×H×W, like 1x3x224x224; got '\(text)'")
    }
    let sizes = dimensions.map { $0! }
    var count = 1
    for size in sizes {
        let (product, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow, product <= largestSummaryElements else {
            throw ValidationError("--input \(text) has more than 2⁴⁸ elements; give a smaller batch or image")
        }
        count = product
    }
    return Shape(sizes)
}

/// The most elements `--input` may have (2⁴⁸), so that the FLOPs and memory of every layer fit in
/// an `Int`; `--time` needs the input and activations to fit in memory besides.
let largestSummaryElements = 1 << 48

/// 25557032 → "25,557,032".
func grouped(_ value: Int) -> String {
    let digits = String(value)
    return digits.enumerated().map { index, digit in
        index > 0 && (digits.count - index) % 3 == 0 ? ",\(digit)" : String(digit)
    }.joined()
}
