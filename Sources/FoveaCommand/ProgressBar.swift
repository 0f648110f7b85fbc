import Foundation

/// Progress of one epoch: a redrawn bar on a terminal, plain lines (every 10%) otherwise.
struct ProgressBar {
    let total: Int
    let label: String
    let isTerminal = isatty(STDERR_FILENO) != 0
    let start = Date()
    private var lastDecile = -1

    init(total: Int, label: String) {
        self.total = total
        self.label = label
    }

    /// Batches done, running loss and accuracy, images so far.
    mutating func update(done: Int, loss: Double, accuracy: Double, images: Int) {
        let elapsed = Date().timeIntervalSince(start)
        let rate = Double(images) / max(elapsed, 1e-9)
        let remaining = Double(total - done) * elapsed / Double(max(done, 1))
        let stats = String(format: "loss %.4f  acc %5.2f%%  %6.0f img/s  ETA %@", loss, accuracy * 100, rate, Self.clock(remaining))
        if isTerminal {
            let width = 30
            let filled = width * done / max(total, 1)
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            printError("\r\(label) \(bar) \(done)/\(total)  \(stats)", terminator: done == total ? "\n" : "")
        } else {
            let decile = 10 * done / max(total, 1)
            if decile != lastDecile {
                lastDecile = decile
                printError("\(label) \(done)/\(total)  \(stats)")
            }
        }
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d", s / 60, s % 60)
    }
}
