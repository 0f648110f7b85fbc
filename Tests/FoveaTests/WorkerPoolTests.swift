@testable import FoveaCore
import Dispatch
import Foundation
import Synchronization
import Testing

/// `WorkerPool`, the threads behind `Parallel.forEach`: every item runs exactly once, worker
/// indices are in range and never shared by two items running at once, sleeping helpers wake up,
/// and loops nested in a loop or started from several threads at once still run every item.
@Suite("Worker pool")
struct WorkerPoolTests {
    /// Counts how often each item ran and checks that no worker index is used twice at once.
    final class Ledger: Sendable {
        private struct State {
            var runs: [Int]
            var busy: [Bool]
            var clashes = 0, badWorkers = 0
        }

        /// FoveaCore's `Lock` (pthread), which ThreadSanitizer sees; `Synchronization.Mutex` it does not.
        private let state: Lock<State>

        init(items: Int, workers: Int) {
            state = Lock(State(runs: Array(repeating: 0, count: items), busy: Array(repeating: false, count: workers)))
        }

        /// Marks `worker` busy, counts `item`, works a little, and marks the worker free again.
        func record(worker: Int, item: Int) {
            let valid = state.withLock { state in
                guard state.busy.indices.contains(worker) else {
                    state.badWorkers += 1
                    return false
                }
                if state.busy[worker] { state.clashes += 1 }
                state.busy[worker] = true
                state.runs[item] += 1
                return true
            }
            guard valid else { return }
            var x = Double(item)
            for _ in 0..<200 { x = x * 0.999 + 1 }
            state.withLock { state in state.busy[worker] = x.isNaN }
        }

        /// Items that did not run exactly once.
        var wrongItems: [Int] { state.withLock { state in state.runs.indices.filter { state.runs[$0] != 1 } } }
        var clashes: Int { state.withLock { $0.clashes } }
        var badWorkers: Int { state.withLock { $0.badWorkers } }
    }

    /// Items are claimed one at a time up to 32 per worker, then in runs of about 1/32 of a
    /// worker's share (4099 items at 2 workers: runs of 64, the last one short).
    @Test func claimsRunsOfItemsOnlyInLongLoops() {
        #expect(WorkerPool.grain(8, workers: 2) == 1)
        #expect(WorkerPool.grain(63, workers: 2) == 1)
        #expect(WorkerPool.grain(64, workers: 2) == 1)
        #expect(WorkerPool.grain(4099, workers: 2) == 64)
        #expect(WorkerPool.grain(1024, workers: 8) == 4)
        #expect(WorkerPool.grain(5, workers: 0) == 1)
    }

    /// Many loops of many sizes on the pool: each item once, indices in `0..<min(threads, count)`.
    @Test(arguments: [UInt64(0), 1_000_000])
    func everyItemRunsOnceWithItsOwnWorkerIndex(spin: UInt64) {
        let pool = WorkerPool(spinNanoseconds: spin)
        for threads in [2, 3, 8] {
            for count in [1, 2, 3, 7, 64, 257, 4099] {
                let workers = min(threads, count)
                let ledger = Ledger(items: count, workers: workers)
                pool.forEach(count, workers: workers) { worker, item in ledger.record(worker: worker, item: item) }
                #expect(ledger.wrongItems.isEmpty, "threads \(threads), count \(count): items not run once: \(ledger.wrongItems)")
                #expect(ledger.clashes == 0, "threads \(threads), count \(count): a worker index ran two items at once")
                #expect(ledger.badWorkers == 0, "threads \(threads), count \(count): a worker index out of range")
            }
        }
    }

    /// Two items that each wait for the other to start finish only if a helper thread runs one of
    /// them, so this fails (after a 10 s timeout) if a sleeping helper is never woken. Repeated
    /// with helpers that sleep at once (spin 0) and with polling ones.
    @Test(arguments: [UInt64(0), 1_000_000])
    func helpersWakeUpAndRunItemsAlongsideTheCaller(spin: UInt64) {
        let pool = WorkerPool(spinNanoseconds: spin)
        for round in 0..<50 {
            let entered = Atomic<Int>(0)
            let metEachOther = Atomic<Int>(0)
            pool.forEach(2, workers: 2) { _, _ in
                entered.add(1, ordering: .acquiringAndReleasing)
                let deadline = DispatchTime.now().uptimeNanoseconds + 10_000_000_000
                while entered.load(ordering: .acquiring) < 2 && DispatchTime.now().uptimeNanoseconds < deadline { sched_yield() }
                if entered.load(ordering: .acquiring) == 2 { metEachOther.add(1, ordering: .relaxed) }
            }
            #expect(metEachOther.load(ordering: .relaxed) == 2, "round \(round): the two items did not run at the same time")
            if spin == 0 { usleep(200) }  // let the helper fall asleep again
        }
    }

    /// A loop inside a loop's item, and loops started from several threads at once, find the pool
    /// taken and run on Dispatch: still every item once.
    @Test func nestedAndConcurrentLoopsRunEveryItem() {
        let outer = Ledger(items: 16, workers: 2)
        let inner = (0..<16).map { _ in Ledger(items: 33, workers: 3) }
        Parallel.forEach(16, threads: 2) { worker, item in
            outer.record(worker: worker, item: item)
            Parallel.forEach(33, threads: 3) { worker, innerItem in inner[item].record(worker: worker, item: innerItem) }
        }
        #expect(outer.wrongItems.isEmpty)
        for (item, ledger) in inner.enumerated() {
            #expect(ledger.wrongItems.isEmpty && ledger.clashes == 0, "inner loop of item \(item)")
        }

        let callers = (0..<4).map { _ in Ledger(items: 100 * 41, workers: 2) }
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            for loop in 0..<100 {
                Parallel.forEach(41, threads: 2) { worker, item in callers[caller].record(worker: worker, item: loop * 41 + item) }
            }
        }
        for (caller, ledger) in callers.enumerated() {
            #expect(ledger.wrongItems.isEmpty, "caller \(caller): items not run once")
            #expect(ledger.clashes == 0, "caller \(caller): a worker index ran two items at once")
        }
    }

    /// `FOVEA_SPIN_US`: unset means 1 ms; 0 and 10⁶ µs are the ends of the range; anything else is
    /// an error naming the variable.
    @Test func spinIsReadFromTheEnvironmentStrictly() throws {
        #expect(try WorkerPool.spinNanoseconds(fromEnvironmentValue: nil) == 1_000_000)
        #expect(try WorkerPool.spinNanoseconds(fromEnvironmentValue: "0") == 0)
        #expect(try WorkerPool.spinNanoseconds(fromEnvironmentValue: "250") == 250_000)
        #expect(try WorkerPool.spinNanoseconds(fromEnvironmentValue: "1000000") == 1_000_000_000)
        for text in ["-1", "1000001", "1ms", "0.5", " 5"] {
            let error = try #require(throws: FoveaError.self, "FOVEA_SPIN_US='\(text)'") {
                try WorkerPool.spinNanoseconds(fromEnvironmentValue: text)
            }
            #expect(error.message.contains("FOVEA_SPIN_US") && error.message.contains("from 0 to 1000000"), "\(error.message)")
        }
    }
}
