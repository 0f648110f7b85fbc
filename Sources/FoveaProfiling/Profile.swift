/// What `ModelProfiler` measured over the timed runs of one network: every operation a
/// `ProfilingDevice` recorded, the wall-clock time of the runs, and (for a training step) of its
/// phases. Times are per run: sums over the runs divided by `runs`.
public struct Profile: Sendable {
    /// `forward` or `training step`.
    public var mode: String
    /// The profiled device's description, e.g. `dispatch (2 threads)`.
    public var device: String
    public var threads: Int
    /// How many timed runs the records come from.
    public var runs: Int
    /// Wall-clock seconds of one run.
    public var wallSeconds: Double
    /// The phases of a run and their wall-clock seconds, in order (`forward`, `loss`,
    /// `backward`, `optimizer step` for a training step; just `forward` for inference).
    public var phases: [(name: String, seconds: Double)]
    /// Every operation of the timed runs, in order.
    public var records: [OperationRecord]

    public init(mode: String, device: String, threads: Int, runs: Int, wallSeconds: Double,
                phases: [(name: String, seconds: Double)], records: [OperationRecord]) {
        self.mode = mode
        self.device = device
        self.threads = threads
        self.runs = runs
        self.wallSeconds = wallSeconds
        self.phases = phases
        self.records = records
    }

    /// Seconds per run inside device operations.
    public var operationSeconds: Double { records.reduce(0) { $0 + $1.seconds } / Double(max(runs, 1)) }

    /// Seconds per run outside every operation: the graph's bookkeeping, tensors made between
    /// operations, the optimizer's update. Never negative (clock granularity).
    public var betweenOperationsSeconds: Double { max(0, wallSeconds - operationSeconds) }

    /// One row per (layer, operation, shapes), in the order they first ran.
    public var layerRows: [ProfileRow] {
        rows(keyedBy: { "\($0.layer)\u{1}\($0.operation)\u{1}\($0.shapes)" })
    }

    /// One row per operation kind, most time first, with a last row `between operations`
    /// (`betweenOperationsSeconds`) so the rows add up to the wall-clock time.
    public var kindRows: [ProfileRow] {
        var rows = rows(keyedBy: { $0.kind.description }).map { row -> ProfileRow in
            var row = row
            row.layer = ""
            row.operation = row.kind.description
            row.shapes = ""
            return row
        }
        rows.sort { $0.seconds > $1.seconds }
        rows.append(ProfileRow(layer: "", operation: "between operations", kind: OperationKind(family: "between operations", direction: ""),
                               shapes: "", calls: 0, seconds: betweenOperationsSeconds, flops: nil))
        return rows
    }

    /// Records grouped by `key`, each group summed and divided by `runs`, in first-seen order.
    func rows(keyedBy key: (OperationRecord) -> String) -> [ProfileRow] {
        var order: [String] = []
        var groups: [String: ProfileRow] = [:]
        let perRun = 1 / Double(max(runs, 1))
        for record in records {
            let k = key(record)
            if groups[k] == nil {
                order.append(k)
                groups[k] = ProfileRow(layer: record.layer, operation: record.operation, kind: record.kind, shapes: record.shapes,
                                       calls: 0, seconds: 0, flops: record.flops == nil ? nil : 0)
            }
            groups[k]!.calls += perRun
            groups[k]!.seconds += record.seconds * perRun
            if let flops = record.flops { groups[k]!.flops = (groups[k]!.flops ?? 0) + flops * perRun }
        }
        return order.map { groups[$0]! }
    }
}

/// Time per run of a group of operations (one layer's operation, or one kind).
public struct ProfileRow: Sendable {
    public var layer: String
    public var operation: String
    public var kind: OperationKind
    public var shapes: String
    /// Calls per run.
    public var calls: Double
    /// Seconds per run.
    public var seconds: Double
    /// FLOPs per run; nil for memory-bound operations.
    public var flops: Double?

    public init(layer: String, operation: String, kind: OperationKind, shapes: String, calls: Double, seconds: Double, flops: Double?) {
        self.layer = layer
        self.operation = operation
        self.kind = kind
        self.shapes = shapes
        self.calls = calls
        self.seconds = seconds
        self.flops = flops
    }

    /// FLOPs ÷ seconds ÷ 10⁹; nil for memory-bound operations.
    public var gigaflopsPerSecond: Double? {
        guard let flops, seconds > 0 else { return nil }
        return flops / seconds / 1e9
    }

    /// `gigaflopsPerSecond` as a percentage of `peak` GFLOP/s (the machine's FMA peak on the
    /// threads used).
    public func percentOfPeak(_ peak: Double) -> Double? {
        gigaflopsPerSecond.map { 100 * $0 / peak }
    }
}
