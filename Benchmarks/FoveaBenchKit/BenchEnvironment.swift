import Foundation
import Fovea

/// What `FOVEA_DEVICE` and `FOVEA_THREADS` mean to `fovea-bench`: the defaults of `--engines` and
/// `--threads`. Unset, every backend is timed at 1 thread and at all cores; `FOVEA_DEVICE=dispatch`
/// times only dispatch (`auto` is the backend it picks here), `FOVEA_THREADS=2` only 2 threads.
/// An explicit `--engines` or `--threads` wins over the variable.
public struct BenchEnvironment: Sendable, Equatable {
    /// The backend `FOVEA_DEVICE` names (with `auto` resolved), or nil when it is unset.
    public var engine: String?
    /// `FOVEA_THREADS`, or nil when it is unset.
    public var threads: Int?

    /// Reads and validates both variables the way the library does (`Devices.fromEnvironment`).
    /// - Throws: `FoveaError` naming the variable, its value and the valid values.
    public init(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        _ = try Devices.fromEnvironment(environment)
        let name = try FoveaEnvironment.device.word(in: environment)
        engine = name.map { $0 == Devices.automaticName ? Devices.automaticBackend : $0 }
        threads = try FoveaEnvironment.threads.wholeNumber(in: environment)
    }

    /// `--engines` as given, else `FOVEA_DEVICE`'s backend, else `defaults`.
    public func engines(given: String?, defaults: [String]) -> [String] {
        if let given { return given.split(separator: ",").map(String.init) }
        return engine.map { [$0] } ?? defaults
    }

    /// `--threads` as given (already parsed), else `FOVEA_THREADS`, else `defaults`.
    public func threadCounts(given: [Int]?, defaults: [Int]) -> [Int] {
        given ?? threads.map { [$0] } ?? defaults
    }
}
