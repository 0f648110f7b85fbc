import Fovea

/// `fovea-bench nets --profile`: where the time of one network goes, at one or more thread
/// counts side by side. Two tables: per operation kind (each convolution algorithm and pass,
/// batch norm, activation, add, concatenation, pooling, linear, the time between operations)
/// with its share of the run, and per layer operation (name, shapes, algorithm, ms, GFLOP/s,
/// % of peak); with two thread counts, the speedup of the second over the first, so the layers
/// that do not scale stand out.
public struct NetworkProfileReport {
    public var network: String
    public var engine: String
    public var batch: Int
    /// One profile per thread count, in the order the thread counts were given (same mode).
    public var profiles: [Profile]
    /// GFLOP/s of one core (`MachinePeak.perCore`); % of peak is over `threads` cores.
    public var peakPerCore: Double

    public init(network: String, engine: String, batch: Int, profiles: [Profile], peakPerCore: Double) {
        self.network = network
        self.engine = engine
        self.batch = batch
        self.profiles = profiles
        self.peakPerCore = peakPerCore
    }

    /// E.g. `resnet50 · dispatch · batch 1 · forward — 1 thread: 89.2 ms (11.2 images/s), …`.
    public var title: String {
        let mode = profiles.first?.mode ?? ""
        let times = profiles.map { p in
            String(format: "%d thread%@ %.1f ms (%.2f images/s)", p.threads, p.threads == 1 ? "" : "s", p.wallSeconds * 1e3,
                   Double(batch) / p.wallSeconds)
        }
        return "\(network) · \(engine) · batch \(batch) · \(mode) — " + times.joined(separator: ", ")
    }

    /// Phase times (training step: forward, loss, backward, optimizer step).
    public var phaseTable: TextTable {
        var table = TextTable(header: ["phase"] + profiles.flatMap { ["ms \($0.threads)T", "share \($0.threads)T"] } + speedupHeader, leftColumns: 1)
        for (index, phase) in (profiles.first?.phases ?? []).enumerated() {
            let times = profiles.map { $0.phases.indices.contains(index) ? $0.phases[index].seconds : 0 }
            table.rows.append([phase.name] + zip(profiles, times).flatMap { profile, seconds in
                [Self.milliseconds(seconds), Self.percent(seconds / profile.wallSeconds)]
            } + speedup(times))
        }
        return table
    }

    /// One row per operation kind, ordered by the first profile's time.
    public var kindTable: TextTable {
        let perProfile = profiles.map { Dictionary($0.kindRows.map { ($0.operation, $0) }, uniquingKeysWith: { a, _ in a }) }
        let order = profiles.first?.kindRows.map(\.operation) ?? []
        var table = TextTable(header: ["operation kind"] + profiles.flatMap(columnHeaders(share: true)) + speedupHeader, leftColumns: 1)
        for kind in order {
            let rows = perProfile.map { $0[kind] }
            table.rows.append([kind] + zip(profiles, rows).flatMap { cells($1, profile: $0, share: true) } + speedup(rows.map { $0?.seconds }))
        }
        return table
    }

    /// One row per layer operation, in the order the network ran them; `top` keeps only the rows
    /// with the most time in the first profile (still in network order).
    public func layerTable(top: Int? = nil) -> TextTable {
        func key(_ row: ProfileRow) -> String { "\(row.layer)\u{1}\(row.operation)\u{1}\(row.shapes)" }
        let perProfile = profiles.map { Dictionary($0.layerRows.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a }) }
        var order = profiles.first?.layerRows ?? []
        if let top, top < order.count {
            let kept = Set(order.sorted { $0.seconds > $1.seconds }.prefix(top).map(key))
            order = order.filter { kept.contains(key($0)) }
        }
        var table = TextTable(header: ["layer", "operation", "shapes", "algorithm"] + profiles.flatMap(columnHeaders(share: false)) + speedupHeader,
                              leftColumns: 4)
        for first in order {
            let rows = perProfile.map { $0[key(first)] }
            table.rows.append([first.layer, first.operation, first.shapes, first.kind.algorithm?.description ?? ""]
                              + zip(profiles, rows).flatMap { cells($1, profile: $0, share: false) } + speedup(rows.map { $0?.seconds }))
        }
        return table
    }

    /// Title, phases (training step), kinds and layers, as text or Markdown.
    public func rendered(top: Int? = nil, markdown: Bool = false) -> String {
        func render(_ table: TextTable) -> String { markdown ? table.markdown : table.description }
        var parts = [markdown ? "#### \(title)" : title]
        if (profiles.first?.phases.count ?? 0) > 1 { parts.append(render(phaseTable)) }
        parts.append(render(kindTable))
        parts.append(render(layerTable(top: top)))
        return parts.joined(separator: "\n\n")
    }

    // MARK: Cells

    var speedupHeader: [String] {
        profiles.count == 2 ? ["\(profiles[1].threads)T ÷ \(profiles[0].threads)T"] : []
    }

    func columnHeaders(share: Bool) -> (Profile) -> [String] {
        { p in ["ms \(p.threads)T"] + (share ? ["share"] : []) + ["GFLOP/s", "% peak"] }
    }

    func cells(_ row: ProfileRow?, profile: Profile, share: Bool) -> [String] {
        guard let row else { return Array(repeating: "", count: share ? 4 : 3) }
        let rate = row.gigaflopsPerSecond
        let peak = row.percentOfPeak(peakPerCore * Double(profile.threads))
        return [Self.milliseconds(row.seconds)] + (share ? [Self.percent(row.seconds / profile.wallSeconds)] : [])
            + [rate.map { String(format: "%.0f", $0) } ?? "", peak.map { String(format: "%.0f%%", $0) } ?? ""]
    }

    /// The first time over the second (how much faster the second thread count ran it).
    func speedup(_ seconds: [Double?]) -> [String] {
        guard seconds.count == 2 else { return [] }
        guard let a = seconds[0], let b = seconds[1], a > 0, b > 0 else { return [""] }
        return [String(format: "%.2f×", a / b)]
    }

    static func milliseconds(_ seconds: Double) -> String { String(format: seconds < 0.01 ? "%.2f" : "%.1f", seconds * 1e3) }
    static func percent(_ fraction: Double) -> String { String(format: "%.1f%%", fraction * 100) }
}
