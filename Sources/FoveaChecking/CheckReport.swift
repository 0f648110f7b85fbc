import Foundation
import FoveaCore

/// What a checking device found, per (device, layer, operation): how many calls, the largest
/// absolute and relative errors over all of them, and the shapes of the worst call. Thread-safe;
/// shared by every copy of the device that holds it (and by several devices, e.g. `check:openblas`
/// and `check:dispatch` in one `fovea-bench` run, whose rows then carry the device's name).
public final class CheckReport: Sendable {
    /// The layer name of operations that ran outside every `OperationScope`.
    public static let outsideLayers = "(no layer)"

    /// The report `Devices.make("check:…")` records into, so that a program can print one table
    /// however many checking devices it made (as `fovea-bench` does).
    public static let process = CheckReport()

    /// One row of the report.
    public struct Entry: Sendable {
        /// The checking device, e.g. `check:openblas`.
        public var device: String
        public var layer: String
        public var operation: String
        public var calls: Int
        /// The largest errors over all calls.
        public var discrepancy: Discrepancy
        /// The shapes of the call with the largest relative error.
        public var shapes: String
        /// True when some call was beyond the tolerance.
        public var exceeded: Bool
    }

    private struct Key: Hashable {
        var device: String
        var layer: String
        var operation: String
    }

    private struct State {
        var order: [Key] = []
        var entries: [Key: Entry] = [:]
        var pending: CheckViolation?
        var violations: [CheckViolation] = []
    }

    private let state = Lock(State())

    public init() {}

    /// Adds one call's result; a violation is also kept as pending (the first one only, until it
    /// is taken) and in `violations`.
    public func record(device: String, layer: String, operation: String, shapes: String, discrepancy: Discrepancy,
                       violation: CheckViolation?) {
        state.withLock { state in
            let key = Key(device: device, layer: layer, operation: operation)
            if var entry = state.entries[key] {
                entry.calls += 1
                if !(discrepancy.relative <= entry.discrepancy.relative) { entry.shapes = shapes }
                entry.discrepancy = entry.discrepancy.merged(with: discrepancy)
                entry.exceeded = entry.exceeded || violation != nil
                state.entries[key] = entry
            } else {
                state.order.append(key)
                state.entries[key] = Entry(device: device, layer: layer, operation: operation, calls: 1, discrepancy: discrepancy,
                                           shapes: shapes, exceeded: violation != nil)
            }
            if let violation {
                state.violations.append(violation)
                if state.pending == nil { state.pending = violation }
            }
        }
    }

    /// The rows, in the order they were first seen (forward order, then backward).
    public var entries: [Entry] {
        state.withLock { state in state.order.map { state.entries[$0]! } }
    }

    /// Every violation so far, in order.
    public var violations: [CheckViolation] { state.withLock { $0.violations } }

    /// The first violation not yet taken, clearing it.
    public func takePendingViolation() -> CheckViolation? {
        state.withLock { state in
            defer { state.pending = nil }
            return state.pending
        }
    }

    /// Forgets everything.
    public func reset() { state.withLock { $0 = State() } }

    /// The report as a text table: layer, op, calls, max abs error, max rel error, status, and the
    /// shapes of the worst call; a first column names the device when several recorded here.
    public func table() -> String {
        let entries = entries
        let showDevice = Set(entries.map(\.device)).count > 1
        let rows = entries.map { entry in
            (showDevice ? [entry.device] : [])
                + [entry.layer, entry.operation, String(entry.calls), Discrepancy.format(entry.discrepancy.absolute),
                   Discrepancy.format(entry.discrepancy.relative), entry.exceeded ? "FAIL" : "ok", entry.shapes]
        }
        let header = (showDevice ? ["device"] : []) + ["layer", "op", "calls", "max abs", "max rel", "", "shapes (worst call)"]
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        let rightAligned: Set = showDevice ? [3, 4, 5] : [2, 3, 4]
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned.contains(column) ? padding + cell : cell + padding
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        let rule = String(repeating: "─", count: widths.reduce(0, +) + 2 * (widths.count - 1))
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }
}
