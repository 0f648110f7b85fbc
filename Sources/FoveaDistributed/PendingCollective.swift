import CMPI
import Dispatch
import Fovea
import Foundation

/// A collective started in the background (`MPI_I…`): `isComplete()` lets MPI make progress and
/// says whether it has finished; `wait()` blocks until it has, or throws after the
/// communicator's `timeout`.
///
/// Open MPI 4.1 moves a non-blocking collective forward only inside MPI calls, so a caller that
/// wants it to overlap with computation calls `isComplete()` now and then (`DataParallel` does
/// after each gradient, or from a progress thread). Safe to test from two threads: every test
/// holds the communicator's lock.
public final class PendingCollective: @unchecked Sendable {
    private var request: MPI_Request?
    /// What the collective moves, for errors: `allreduce of gradient bucket 2 (1.2 MB)`.
    public let operation: String
    let communicator: Communicator
    /// When the collective started (`DispatchTime` nanoseconds).
    private let started = DispatchTime.now().uptimeNanoseconds
    /// Memory the collective reads or writes, kept alive until it completes.
    private var keptAlive: AnyObject?

    init(request: MPI_Request?, operation: String, communicator: Communicator, keepingAlive owner: AnyObject? = nil) {
        self.request = request
        self.operation = operation
        self.communicator = communicator
        keptAlive = owner
    }

    /// Whether the collective has finished (`MPI_Test`); once it has, its result is in place.
    /// - Throws: `.distributed` when MPI reports a failure.
    public func isComplete() throws -> Bool {
        let (code, done) = communicator.serialized { () -> (Int32, Bool) in
            guard request != fovea_mpi_request_null() else { return (fovea_mpi_success(), true) }
            var done: Int32 = 0
            let code = MPI_Test(&request, &done, fovea_mpi_status_ignore())
            if done != 0 { keptAlive = nil }
            return (code, done != 0)
        }
        try MPICall.check(code, "MPI_Test (\(operation))", rank: communicator.rank)
        return done
    }

    /// Blocks until the collective has finished. Tests it continuously, yielding the processor
    /// between tests, for `busyPolling` seconds — every test moves the transfer on, so a sleep
    /// between tests would slow it — and then every 100 µs, so that a rank left waiting for a
    /// failed or stuck one does not hold a core.
    /// - Throws: `.distributed` when MPI reports a failure, or when the other ranks have not
    ///   joined within the communicator's `timeout` seconds (counted from the start).
    public func wait() throws {
        while try !isComplete() {
            // In Double seconds: a timeout too large for a `Duration` (FOVEA_MPI_TIMEOUT=1e300)
            // means never, as NaN does.
            let waited = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            if waited < Self.busyPolling {
                sched_yield()
                continue
            }
            if waited > communicator.timeout {
                throw FoveaError(.distributed, """
                    \(communicator.name): \(operation) did not complete within \(Self.format(communicator.timeout)) s \
                    (FOVEA_MPI_TIMEOUT); another rank has failed, is stuck, or did not call the same collective
                    """)
            }
            usleep(100)
        }
    }

    /// Seconds `wait` tests without sleeping.
    static let busyPolling = 2.0

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}

extension Array where Element == PendingCollective {
    /// Waits for every collective, in order.
    public func waitAll() throws { for pending in self { try pending.wait() } }
}
