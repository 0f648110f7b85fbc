import Foundation

/// The one-line answer of a benchmark run: which backend was fastest, and by how much over each
/// of the others.
///
/// For every pair of engines, the ratio is the geometric mean, over the timings both have
/// (same layer, pass, batch and threads), of the other engine's time ÷ the winner's: 1.6 means
/// the winner took 1/1.6 of the time. The winner is the engine whose times are the lowest in
/// geometric mean against every other engine it shares timings with; `sgemm` (the GEMM alone, not
/// a backend) is left out.
public struct Verdict: Sendable, Equatable {
    /// The fastest backend.
    public var fastest: String
    /// Each other backend with how many times longer it took, and over how many shared timings.
    public var others: [(engine: String, ratio: Double, timings: Int)]

    public static func == (a: Verdict, b: Verdict) -> Bool {
        a.fastest == b.fastest && a.others.map(\.engine) == b.others.map(\.engine)
            && a.others.map(\.ratio) == b.others.map(\.ratio) && a.others.map(\.timings) == b.others.map(\.timings)
    }

    /// The verdict of `results`, or nil when fewer than two backends were timed on a common entry.
    public init?(_ results: [LayerResult]) {
        let backends = results.filter { $0.engine != "sgemm" }
        func key(_ r: LayerResult) -> String { "\(r.layer)|\(r.pass)|\(r.batch)|\(r.threads)" }
        var times: [String: [String: Double]] = [:]  // engine → key → ms
        for r in backends { times[r.engine, default: [:]][key(r)] = r.medianMilliseconds }
        let engines = times.keys.sorted()
        /// Geometric mean of a's time ÷ b's over their shared keys, and how many there were.
        func slowdown(_ a: String, over b: String) -> (ratio: Double, count: Int) {
            let shared = times[a]!.keys.filter { times[b]![$0] != nil }
            let ratios = shared.map { times[a]![$0]! / times[b]![$0]! }
            return (Statistics.geometricMean(ratios), shared.count)
        }
        // The winner beats (ratio ≥ 1) every engine it shares timings with; ties go to the larger
        // product of ratios. The engine with the most timings wins a tie at equal products.
        let scored = engines.map { candidate -> (engine: String, score: Double, beatsAll: Bool) in
            var score = 0.0, beatsAll = true
            for other in engines where other != candidate {
                let (ratio, count) = slowdown(other, over: candidate)
                guard count > 0 else { continue }
                score += log(ratio)
                if ratio < 1 { beatsAll = false }
            }
            return (candidate, score, beatsAll)
        }
        guard let winner = scored.max(by: { ($0.beatsAll ? 1 : 0, $0.score) < ($1.beatsAll ? 1 : 0, $1.score) }) else { return nil }
        let others = engines.filter { $0 != winner.engine }.compactMap { other -> (engine: String, ratio: Double, timings: Int)? in
            let (ratio, count) = slowdown(other, over: winner.engine)
            return count > 0 ? (other, ratio, count) : nil
        }
        guard !others.isEmpty else { return nil }
        fastest = winner.engine
        self.others = others.sorted { $0.ratio < $1.ratio }
    }

    /// E.g. `fastest backend: dispatch — 1.62× openblas (30 timings), 41× naive (2 timings)`.
    public var line: String {
        let parts = others.map { other in
            let ratio = other.ratio >= 10 ? String(format: "%.0f", other.ratio) : String(format: "%.2f", other.ratio)
            return "\(ratio)× as fast as \(other.engine) (\(other.timings) timing\(other.timings == 1 ? "" : "s"))"
        }
        return "fastest backend: \(fastest) — " + parts.joined(separator: ", ")
    }
}
