import Foundation

/// The processors this process may run on (its affinity mask, from `Cpus_allowed_list` in
/// /proc/self/status). `mpirun` binds each rank to
/// one core by default when a job has at most 2 processes (to a socket beyond), whatever
/// `ProcessInfo.activeProcessorCount` says; more threads than this share those processors.
public enum ProcessorAffinity {
    /// The number of processors in this process's affinity mask (the active processor count
    /// when the mask cannot be read).
    public static var processorCount: Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }),
              let count = count(inList: String(line.dropFirst("Cpus_allowed_list:".count)))
        else { return ProcessInfo.processInfo.activeProcessorCount }
        return count
    }

    /// The number of processors in a list such as `0-3,8,10-11` (7); nil when it does not parse.
    public static func count(inList list: String) -> Int? {
        var total = 0
        for part in list.trimmingCharacters(in: .whitespaces).split(separator: ",") {
            let bounds = part.split(separator: "-").map { Int($0) }
            guard (1...2).contains(bounds.count), bounds.allSatisfy({ $0 != nil }), bounds.last!! >= bounds.first!! else { return nil }
            total += bounds.last!! - bounds.first!! + 1
        }
        return total > 0 ? total : nil
    }
}

extension Communicator {
    /// Threads per rank when the user gives none: the host's cores shared by the job's ranks on
    /// the host, and no more than the processors this rank is bound to.
    public var defaultThreadsPerRank: Int {
        max(1, min(ProcessorAffinity.processorCount, ProcessInfo.processInfo.activeProcessorCount / max(localSize, 1)))
    }
}
