import Foundation
import Fovea

/// The convolution planner's decisions for the layer suite: for each layer, batch and backend,
/// the algorithm each pass runs (`ConvolutionPlanning.convolutionPlan(for:pass:)`), as
/// `fovea-bench plans` prints them. The choice does not depend on the thread count, so one device
/// per backend answers for every count.
public struct PlanTable {
    /// One layer at one batch size: the algorithm of each pass on each backend.
    public struct Row: Equatable, Sendable {
        public var layer: String
        public var batch: Int
        /// `algorithms[backend][pass]`, in the order of `backends` and `ConvolutionPass.allCases`.
        public var algorithms: [[ConvolutionAlgorithm]]
    }

    public var layers: [BenchLayer]
    public var batches: [Int]
    public var backends: [String]

    public init(layers: [BenchLayer] = LayerSuite.imageNet, batches: [Int] = [1, 8], backends: [String] = ["dispatch", "openblas"]) {
        self.layers = layers
        self.batches = batches
        self.backends = backends
    }

    /// The decisions, one row per (layer, batch), in suite order.
    /// - Throws: `FoveaError` when a backend does not plan its convolutions or a forced algorithm
    ///   (`FOVEA_CONV_ALGORITHM`) cannot run a layer.
    public func rows(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [Row] {
        let devices = try backends.map { name -> any ConvolutionPlanning in
            guard let planning = try Devices.make(name, threads: 2, environment: environment) as? any ConvolutionPlanning else {
                throw FoveaError.invalidArgument("backend \(name) does not plan its convolutions")
            }
            return planning
        }
        return try layers.flatMap { layer in
            try batches.map { batch in
                let g = try layer.geometry(batch: batch)
                let algorithms = try devices.map { device in
                    try ConvolutionPass.allCases.map { try device.convolutionPlan(for: g, pass: $0).algorithm }
                }
                return Row(layer: layer.name, batch: batch, algorithms: algorithms)
            }
        }
    }

    /// A Markdown table: layer, batch, then one column per backend and pass.
    public func markdown(_ rows: [Row]) -> String {
        let passes = ConvolutionPass.allCases
        let header = ["layer", "batch"] + backends.flatMap { backend in passes.map { "\(backend) \($0)" } }
        var lines = ["| " + header.joined(separator: " | ") + " |",
                     "|" + header.indices.map { $0 < 1 ? "---" : "---:" }.joined(separator: "|") + "|"]
        for row in rows {
            let cells = [row.layer, String(row.batch)] + row.algorithms.flatMap { $0.map(\.rawValue) }
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
