import Dispatch

/// Reports the wall-clock seconds of consecutive phases: each `end(_:)` reports the time since
/// the previous one (or since the clock was made). Does nothing, not even read the clock, when
/// there is no one to report to.
struct PhaseClock {
    let report: ((String, Double) -> Void)?
    private var start: UInt64

    init(report: ((String, Double) -> Void)?) {
        self.report = report
        start = report == nil ? 0 : DispatchTime.now().uptimeNanoseconds
    }

    mutating func end(_ phase: String) {
        guard let report else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        report(phase, Double(now - start) / 1e9)
        start = now
    }
}
