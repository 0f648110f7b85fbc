import FoveaCore

/// The reference backend: every operation is a plain loop nest that reads like its formula.
/// Single-threaded, unblocked, no tricks — it defines the right answers that `dispatch` and
/// `openblas` are tested against. Sums are accumulated in `Double` so the reference is more
/// accurate than the backends it judges.
public struct NaiveDevice: Device {
    public init() {}

    public var name: String { "naive" }
    public var threadCount: Int { 1 }
}
