import Foundation

/// Waits for the process's other threads to go idle before anything is timed.
///
/// Fovea links OpenBLAS, whose pthread build starts a pool of worker threads when the library is
/// loaded; they spin (`sched_yield`) for a while before they sleep. A spinning thread that yields
/// lets the FMA probe of `MachinePeak.waitUntilQuiet` through at full speed, yet it takes the core
/// from a second Fovea worker, so the first timings of a run come out up to twice too slow
/// (Docs/Performance.md, "What the benchmark got wrong").
public enum IdleThreads {
    /// CPU time (clock ticks) used so far by every thread of this process except the caller's.
    static func otherThreadsTicks() -> Int {
        // /proc/thread-self links to "<pid>/task/<tid>" of the calling thread.
        let current = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self"))?
            .split(separator: "/").last.map(String.init)
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { $0 != current }.reduce(0) { total, task in
            guard let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
                  let end = stat.lastIndex(of: ")") else { return total }
            // After "pid (comm)": state is field 3, utime and stime are fields 14 and 15.
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            guard fields.count > 13, let user = Int(fields[11]), let system = Int(fields[12]) else { return total }
            return total + user + system
        }
    }

    /// Sleeps in steps of `interval` seconds until the other threads used no CPU over one step, or
    /// `timeout` seconds pass. Returns whether they went idle.
    @discardableResult
    public static func wait(interval: Double = 0.1, timeout: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var before = otherThreadsTicks()
        while Date() < deadline {
            Thread.sleep(forTimeInterval: interval)
            let after = otherThreadsTicks()
            if after == before { return true }
            before = after
        }
        return false
    }
}
