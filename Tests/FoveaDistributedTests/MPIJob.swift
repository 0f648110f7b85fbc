import Fovea
import FoveaTestSupport
import Foundation

/// Runs `DistributedDrill` (or another executable built with the tests, such as `fovea`) under
/// `mpirun --allow-run-as-root --oversubscribe -np N` (or alone),
/// with one thread per rank, and returns its exit status, its output (standard output and error
/// together) and its wall-clock seconds. A job still running after `timeout` seconds is killed.
struct MPIJob {
    var status: Int32
    var output: String
    var seconds: Double

    /// The job's lines that start with `prefix`.
    func lines(startingWith prefix: String) -> [String] {
        output.split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix) }
    }

    /// - Parameter lastRankArguments: when given, one more rank runs the program with these
    ///   arguments instead (mpirun's `: -np 1 …`), as a job whose ranks were started differently.
    static func run(ranks: Int?, program: String = "DistributedDrill", _ arguments: [String], lastRankArguments: [String]? = nil,
                    environment: [String: String] = [:], timeout: Double = 300) throws -> MPIJob {
        let drill = try BuiltExecutable.url(program)
        let process = Process()
        if let ranks {
            process.executableURL = try mpirun()
            process.arguments = ["--allow-run-as-root", "--oversubscribe", "-np", String(ranks), drill.path] + arguments
                + (lastRankArguments.map { [":", "-np", "1", drill.path] + $0 } ?? [])
        } else {
            process.executableURL = drill
            process.arguments = arguments
        }
        process.environment = ProcessInfo.processInfo.environment.merging(["FOVEA_THREADS": "1"].merging(environment) { _, given in given }) { _, given in given }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("fovea-mpi-\(getpid())-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        let start = Date()
        try process.run()
        while process.isRunning && Date().timeIntervalSince(start) < timeout { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try handle.close()
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return MPIJob(status: process.terminationStatus, output: output, seconds: Date().timeIntervalSince(start))
    }

    /// `mpirun` from PATH (Open MPI, `openmpi-bin`; Scripts/install-deps.sh installs it).
    static func mpirun() throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent("mpirun")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw FoveaError(.io, "mpirun is not on PATH (\(path)); install Open MPI: Scripts/install-deps.sh (openmpi-bin, libopenmpi-dev)")
    }
}
