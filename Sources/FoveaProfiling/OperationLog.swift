import FoveaCore

/// The operations a `ProfilingDevice` timed, in the order they ran. Shared by reference, so the
/// device (a value) and the code that reads the profile see one log; safe to record into from
/// several threads.
public final class OperationLog: Sendable {
    private let records = Lock<[OperationRecord]>([])

    public init() {}

    /// Every record so far, oldest first.
    public var all: [OperationRecord] { records.withLock { $0 } }

    public func append(_ record: OperationRecord) { records.withLock { $0.append(record) } }

    /// Forgets every record (e.g. after a warm-up run).
    public func removeAll() { records.withLock { $0.removeAll(keepingCapacity: true) } }
}
