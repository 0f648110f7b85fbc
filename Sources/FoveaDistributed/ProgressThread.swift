import Foundation

/// A thread that advances started collectives while the training thread computes: every
/// `interval` seconds it tests (`MPI_Test`) each collective it watches, until all have completed;
/// between steps it sleeps. For `DataParallel.CommunicationProgress.thread`.
final class ProgressThread: @unchecked Sendable {
    private let interval: Double
    private let condition = NSCondition()
    private var watched: [PendingCollective] = []
    private var stopped = false

    init(interval: Double) {
        self.interval = interval
        let thread = Thread { [self] in self.loop() }  // the thread keeps this object until its loop ends
        thread.name = "fovea.mpi-progress"
        thread.start()
    }

    /// Starts testing `collectives` until they complete.
    func watch(_ collectives: [PendingCollective]) {
        condition.lock()
        watched += collectives
        condition.signal()
        condition.unlock()
    }

    /// Ends the thread (it finishes its current round first).
    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while watched.isEmpty && !stopped { condition.wait() }
            if stopped {
                condition.unlock()
                return
            }
            let current = watched
            condition.unlock()
            // A failing test is reported again by the training thread's wait(); here it only stops watching.
            let finished = Set(current.filter { (try? $0.isComplete()) ?? true }.map(ObjectIdentifier.init))
            condition.lock()
            watched.removeAll { finished.contains(ObjectIdentifier($0)) }
            condition.unlock()
            usleep(UInt32(interval * 1e6))
        }
    }
}
