import Foundation

/// `fovea-bench compare a.json b.json`: throughput ratios of every engine of report A against
/// every engine of report B on the entries both measured, and their geometric means per pass,
/// batch and thread count.
public struct Comparison {
    /// One matched measurement: the same layer and pass (or network and mode), batch and threads.
    public struct Row: Sendable {
        public var name: String
        public var pass: String
        public var batch: Int
        public var threads: Int
        public var engineA: String
        public var engineB: String
        /// Throughput of A over throughput of B (> 1: A is faster).
        public var ratio: Double
    }

    public var rows: [Row] = []

    public init(_ a: BenchReport, _ b: BenchReport) {
        struct Key: Hashable { var name: String, pass: String, batch: Int, threads: Int }
        func layerKey(_ r: LayerResult) -> Key { Key(name: r.layer, pass: r.pass, batch: r.batch, threads: r.threads) }
        func netKey(_ r: NetworkResult) -> Key { Key(name: r.network, pass: r.mode, batch: r.batch, threads: r.threads) }
        let bLayers = Dictionary(grouping: b.layers, by: layerKey)
        for r in a.layers {
            for other in bLayers[layerKey(r)] ?? [] where r.gflops > 0 && other.gflops > 0 {
                rows.append(Row(name: r.layer, pass: r.pass, batch: r.batch, threads: r.threads, engineA: r.engine, engineB: other.engine,
                                ratio: r.gflops / other.gflops))
            }
        }
        let bNets = Dictionary(grouping: b.networks, by: netKey)
        for r in a.networks {
            for other in bNets[netKey(r)] ?? [] where r.imagesPerSecond > 0 && other.imagesPerSecond > 0 {
                rows.append(Row(name: r.network, pass: r.mode, batch: r.batch, threads: r.threads, engineA: r.engine, engineB: other.engine,
                                ratio: r.imagesPerSecond / other.imagesPerSecond))
            }
        }
    }

    /// Geometric-mean ratio per (engine A, engine B, pass, batch, threads), sorted.
    public var summary: [(engineA: String, engineB: String, pass: String, batch: Int, threads: Int, count: Int, geometricMean: Double)] {
        struct Group: Hashable { var a: String, b: String, pass: String, batch: Int, threads: Int }
        let groups = Dictionary(grouping: rows) { Group(a: $0.engineA, b: $0.engineB, pass: $0.pass, batch: $0.batch, threads: $0.threads) }
        return groups.map { group, rows in
            (group.a, group.b, group.pass, group.batch, group.threads, rows.count, Statistics.geometricMean(rows.map(\.ratio)))
        }.sorted { ($0.engineA, $0.engineB, $0.pass, $0.batch, $0.threads) < ($1.engineA, $1.engineB, $1.pass, $1.batch, $1.threads) }
    }

    public func table(details: Bool) -> String {
        var text = TextTable(header: ["A engine", "B engine", "pass", "batch", "threads", "entries", "geomean A/B"], leftColumns: 3)
        text.rows = summary.map { [ $0.engineA, $0.engineB, $0.pass, String($0.batch), String($0.threads), String($0.count), String(format: "%.2f×", $0.geometricMean)] }
        guard details else { return text.description }
        var detail = TextTable(header: ["name", "pass", "batch", "threads", "A engine", "B engine", "A/B"], leftColumns: 2)
        detail.rows = rows.map { [$0.name, $0.pass, String($0.batch), String($0.threads), $0.engineA, $0.engineB, String(format: "%.2f×", $0.ratio)] }
        return text.description + "\n\n" + detail.description
    }
}

