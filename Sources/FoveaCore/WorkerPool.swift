#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Foundation
import Synchronization

/// Fovea's own worker threads for `Parallel.forEach`: they stay awake, polling, for a while after
/// each parallel loop (`spinNanoseconds`, `FOVEA_SPIN_US`), so that the next loop starts on every
/// core at once.
///
/// Why: a network at batch 1 runs hundreds of parallel loops of 0.1–2 ms each (DenseNet-121: about
/// 300 per image). `DispatchQueue.concurrentPerform` wakes a sleeping worker thread for each, and
/// on a virtual machine that wake-up took 35–45 µs per loop, most of a small layer's time
/// (Docs/Performance.md, "Worker threads that wait awake").
///
/// **Protocol.** One loop at a time owns the pool (`owner`); a loop started while another runs
/// (a nested loop inside a worker, or a loop on another thread) runs on `concurrentPerform` as
/// before. The owner writes the loop (`body`, `count`, `next`), then gives each helper it needs a
/// ticket through the helper's `mailbox`:
///
///     mailbox = ticket·4 + phase,  phase 1 assigned → 2 running → 3 done
///
/// The caller takes items too (as worker 0). When it runs out of items it takes back every ticket
/// still in phase 1 (compare-and-exchange 1 → 3, so a helper that has not woken yet never starts)
/// and waits for the helpers in phase 2. Items are handed out by one atomic counter, in runs of
/// `grain` consecutive items, so which thread runs an item never changes a result as long as
/// items write disjoint memory.
///
/// **Waiting.** A helper polls its mailbox for `spinNanoseconds` (yielding the processor between
/// polls), then sleeps on a condition variable until the next ticket. Helpers beyond the machine's
/// processor count never poll, so an oversubscribed thread count does not turn into busy threads.
final class WorkerPool: @unchecked Sendable {
    /// The pool `Parallel.forEach` uses, polling `FOVEA_SPIN_US` µs (default 1000).
    /// `Devices.make` and `Devices.fromEnvironment()` throw for an invalid value before any device
    /// runs; a device made without them (`DispatchDevice(…)` directly) gets the default, and the
    /// error is printed to standard error — a parallel loop has no way to throw it.
    static let shared: WorkerPool = {
        do {
            return WorkerPool(spinNanoseconds: try spinNanoseconds(fromEnvironmentValue: FoveaEnvironment.spin.text()))
        } catch {
            FileHandle.standardError.write(Data("Fovea: \(error); polling the default 1000 µs\n".utf8))
            return WorkerPool(spinNanoseconds: try! spinNanoseconds(fromEnvironmentValue: nil))
        }
    }()

    /// Nanoseconds for a `FOVEA_SPIN_US` value: nil or empty → 1 ms; else the whole number of µs
    /// from 0 (sleep at once) to 10⁶ (`FoveaEnvironment.spin`).
    /// - Throws: `FoveaError.invalidArgument` naming the variable and the value.
    static func spinNanoseconds(fromEnvironmentValue text: String?) throws -> UInt64 {
        UInt64(try FoveaEnvironment.spin.wholeNumber(text) ?? 1000) * 1000
    }

    /// How long an idle helper polls before it sleeps.
    let spinNanoseconds: UInt64

    /// Whether a loop owns the pool.
    private let owner = Atomic<Bool>(false)
    /// The helpers, worker indices 1, 2, …; only the owner appends.
    private var helpers: [Helper] = []
    /// The owner's last ticket.
    private var ticket = 0

    // The loop being run; written by the owner only while no helper is in phase 2.
    private var body: (@Sendable (Int, Int) -> Void)?
    private var count = 0
    private var grain = 1
    private let next = Atomic<Int>(0)

    /// Sleeping helpers wait on `wakeUp` under `mutex`.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wakeUp = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init(spinNanoseconds: UInt64) {
        self.spinNanoseconds = spinNanoseconds
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wakeUp, nil)
    }

    /// `body(worker, item)` for every item in `0..<count` on `workers` threads (the caller and
    /// `workers − 1` helpers), as `Parallel.forEach`; on `concurrentPerform` when another loop owns
    /// the pool.
    func forEach(_ count: Int, workers: Int, _ body: @Sendable (_ worker: Int, _ item: Int) -> Void) {
        guard owner.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            Self.forEachOnDispatch(count, workers: workers, body)
            return
        }
        defer { owner.store(false, ordering: .releasing) }
        while helpers.count < workers - 1 { startHelper() }
        withoutActuallyEscaping(body) { body in
            self.body = body
            self.count = count
            self.grain = Self.grain(count, workers: workers)
            next.store(0, ordering: .relaxed)
            ticket += 1
            let assigned = helpers[0..<(workers - 1)]
            for helper in assigned { assign(helper) }
            run(worker: 0)
            for helper in assigned { takeBackOrWait(helper) }
            self.body = nil
        }
    }

    /// The loop's items, claimed `grain` at a time, until none is left.
    private func run(worker: Int) {
        let (body, count, grain) = (self.body!, self.count, self.grain)
        while true {
            let first = next.add(grain, ordering: .relaxed).oldValue
            if first >= count { return }
            for item in first..<min(first + grain, count) { body(worker, item) }
        }
    }

    /// How many consecutive items a worker claims at once: one while there are fewer than
    /// `claimsPerWorker` per worker, else about 1/`claimsPerWorker` of a worker's share. Claiming
    /// is an atomic add on a cache line every worker writes; loops of a thousand short items (a
    /// phase plane or a batch-norm plane each) spent more on claims than on work. The last claims
    /// leave at most about 1/`claimsPerWorker` of a share unbalanced.
    static func grain(_ count: Int, workers: Int) -> Int {
        max(1, count / (max(workers, 1) * claimsPerWorker))
    }

    /// See `grain`.
    static let claimsPerWorker = 32

    private func assign(_ helper: Helper) {
        helper.mailbox.store(Helper.value(ticket, .assigned), ordering: .sequentiallyConsistent)
        if helper.sleeping.load(ordering: .sequentiallyConsistent) {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(wakeUp)
            pthread_mutex_unlock(mutex)
        }
    }

    /// Takes back `helper`'s ticket if it has not started; else waits until it is done.
    private func takeBackOrWait(_ helper: Helper) {
        let (assigned, done) = (Helper.value(ticket, .assigned), Helper.value(ticket, .done))
        if helper.mailbox.compareExchange(expected: assigned, desired: done, ordering: .acquiringAndReleasing).exchanged { return }
        var polls = 0
        while helper.mailbox.load(ordering: .acquiring) != done {
            polls += 1
            if polls % 64 == 0 { sched_yield() }
        }
    }

    private func startHelper() {
        let helper = Helper(worker: helpers.count + 1)
        helpers.append(helper)
        let polls = helper.worker < ProcessInfo.processInfo.activeProcessorCount
        let thread = Thread { [self] in serve(helper, polls: polls) }
        thread.name = "fovea-worker-\(helper.worker)"
        thread.start()
    }

    /// A helper's life: wait for a ticket, claim it (2), run items, mark it done (3).
    private func serve(_ helper: Helper, polls: Bool) -> Never {
        var last = 0
        while true {
            let assigned = waitForTicket(helper, after: last, polls: polls)
            last = assigned >> 2
            let running = Helper.value(last, .running)
            if helper.mailbox.compareExchange(expected: assigned, desired: running, ordering: .acquiringAndReleasing).exchanged {
                run(worker: helper.worker)
                helper.mailbox.store(Helper.value(last, .done), ordering: .releasing)
            }
        }
    }

    /// The mailbox value of a ticket newer than `last` in phase 1: polled for `spinNanoseconds`,
    /// then slept for.
    private func waitForTicket(_ helper: Helper, after last: Int, polls: Bool) -> Int {
        func isNew(_ value: Int) -> Bool { value & 3 == Helper.Phase.assigned.rawValue && value >> 2 > last }
        if polls && spinNanoseconds > 0 {
            let start = DispatchTime.now().uptimeNanoseconds
            var round = 0
            while true {
                let value = helper.mailbox.load(ordering: .acquiring)
                if isNew(value) { return value }
                round += 1
                if round % 16 == 0 && DispatchTime.now().uptimeNanoseconds - start > spinNanoseconds { break }
                sched_yield()
            }
        }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        helper.sleeping.store(true, ordering: .sequentiallyConsistent)
        defer { helper.sleeping.store(false, ordering: .sequentiallyConsistent) }
        while true {
            let value = helper.mailbox.load(ordering: .sequentiallyConsistent)
            if isNew(value) { return value }
            pthread_cond_wait(wakeUp, mutex)
        }
    }

    /// The loop on `DispatchQueue.concurrentPerform`, items handed out by an atomic counter.
    static func forEachOnDispatch(_ count: Int, workers: Int, _ body: @Sendable (_ worker: Int, _ item: Int) -> Void) {
        let counter = Counter()
        let grain = grain(count, workers: workers)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            while true {
                let first = counter.next.add(grain, ordering: .relaxed).oldValue
                if first >= count { break }
                for item in first..<min(first + grain, count) { body(worker, item) }
            }
        }
    }

    private final class Counter: Sendable {
        let next = Atomic<Int>(0)
    }

    /// One helper thread's mailbox (`ticket·4 + phase`) and whether it sleeps.
    private final class Helper: Sendable {
        enum Phase: Int { case assigned = 1, running = 2, done = 3 }

        static func value(_ ticket: Int, _ phase: Phase) -> Int { ticket << 2 | phase.rawValue }

        /// The worker index it passes to `body`.
        let worker: Int
        let mailbox = Atomic<Int>(value(0, .done))
        let sleeping = Atomic<Bool>(false)

        init(worker: Int) { self.worker = worker }
    }
}
