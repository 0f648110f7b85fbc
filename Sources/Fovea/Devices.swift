import Foundation
import FoveaKernels

/// Choosing the device operations run on.
///
/// From the environment (`fromEnvironment`): `FOVEA_DEVICE`, `FOVEA_THREADS`, `FOVEA_WINOGRAD`,
/// `FOVEA_CONV_ALGORITHM` (algorithms forced per pass), `FOVEA_WORKSPACE_MB` and, for
/// `check:<backend>`, `FOVEA_CHECK_TOLERANCE`; every variable Fovea reads is checked there, so a
/// bad value is a thrown error before any work starts. The variables, their values and defaults
/// are in `FoveaEnvironment` and Docs/Environment.md.
/// In code: pass a device explicitly (`try Devices.make("dispatch", threads: 2)`), or run a
/// block on one with `Devices.with(device) { … }`; `Devices.current` is what layers use.
public enum Devices {
    /// The backends `FOVEA_DEVICE` accepts by name; each also as `check:<name>`.
    public static let names = FoveaEnvironment.backendNames

    /// The most threads `FOVEA_THREADS` and `make(_:threads:)` take: far above any core count,
    /// far below what would exhaust the process's threads.
    public static let maximumThreads = FoveaEnvironment.maximumThreads

    /// The prefix that wraps a backend in a `CheckingDevice`: `check:openblas`.
    public static let checkPrefix = FoveaEnvironment.checkPrefix

    /// Every accepted form, for messages: `auto, naive, dispatch, openblas, check:<backend>`.
    public static var validNames: String { ([automaticName] + names + ["\(checkPrefix)<backend>"]).joined(separator: ", ") }

    /// Makes the device called `name` (`auto` is `automaticBackend`) with `threads` threads (ignored by `naive`) and at most
    /// `workspaceBytes` of convolution workspace per call (default 64 MiB; ignored by `naive`).
    /// `check:<backend>` makes a `CheckingDevice` over that backend, against `naive`, with
    /// `checkTolerance` (default: from `FOVEA_CHECK_TOLERANCE`, else `CheckTolerance.default`),
    /// recording into `CheckReport.process`. `algorithms` forces convolution algorithms per pass
    /// (default: from `FOVEA_CONV_ALGORITHM`). `FOVEA_WINOGRAD`, `FOVEA_CONV_ALGORITHM` and
    /// `FOVEA_CHECK_TOLERANCE` are read from `environment` (the process's by default).
    /// - Throws: `FoveaError` of kind `.unknownDevice` listing the valid names; of kind
    ///   `.invalidArgument` for a thread count or workspace below 1, or a bad `FOVEA_WINOGRAD`,
    ///   `FOVEA_CONV_ALGORITHM` or `FOVEA_CHECK_TOLERANCE`, or a bad `FOVEA_SPIN_US` in the
    ///   process's environment (the worker threads read it there).
    public static func make(_ name: String, threads: Int? = nil, workspaceBytes: Int? = nil,
                            checkTolerance: CheckTolerance? = nil, algorithms: ConvolutionAlgorithmOverride? = nil,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> any Device {
        let threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
        guard (1...maximumThreads).contains(threads) else {
            throw FoveaError.invalidArgument("thread count must be from 1 to \(maximumThreads), got \(threads)")
        }
        let limit = workspaceBytes ?? Im2colConvolution.defaultWorkspaceLimitBytes
        guard limit >= 1 else {
            throw FoveaError.invalidArgument("convolution workspace must be ≥ 1 byte, got \(limit)")
        }
        // The worker threads are the process's, so their variable is the process's.
        try FoveaEnvironment.spin.validate()
        let (policy, tileSize) = try winogradSetting(FoveaEnvironment.winograd.text(in: environment))
        let algorithms = try algorithms ?? FoveaEnvironment.convolutionAlgorithm.algorithmOverride(in: environment)
        let lowercased = resolvingAutomatic(name).lowercased()
        if lowercased.hasPrefix(checkPrefix) {
            let backend = String(lowercased.dropFirst(checkPrefix.count))
            guard names.contains(backend) else {
                throw FoveaError(.unknownDevice, "unknown device '\(name)': '\(backend)' is not a backend to check; valid devices are: \(validNames) (check:auto, check:naive, check:dispatch, check:openblas)")
            }
            let tolerance = try checkTolerance ?? CheckTolerance.fromEnvironment(environment)
            return CheckingDevice(subject: try make(backend, threads: threads, workspaceBytes: limit, algorithms: algorithms,
                                                    environment: environment),
                                  reference: NaiveDevice(),
                                  tolerance: tolerance, report: CheckReport.process)
        }
        func dispatch() -> DispatchDevice {
            DispatchDevice(threads: threads, fallback: NaiveDevice(), workspaceLimitBytes: limit,
                           winograd: policy, winogradTileSize: tileSize, algorithms: algorithms)
        }
        switch lowercased {
        case "naive":
            return NaiveDevice()
        case "dispatch":
            return dispatch()
        case "openblas":
            return OpenBLASDevice(threads: threads, fallback: dispatch(), workspaceLimitBytes: limit,
                                  winograd: policy, winogradTileSize: tileSize, algorithms: algorithms)
        default:
            throw FoveaError(.unknownDevice, "unknown device '\(name)'; valid devices are: \(validNames)")
        }
    }

    /// `FOVEA_WINOGRAD` = `auto` (default: Winograd for the 3×3 stride-1 layers that gain,
    /// Docs/Performance.md — F(4×4,3×3) on openblas; F(4×4) or F(2×2,3×3) by a cost model on
    /// dispatch) | `off` (no Winograd) | `always` (F(4×4) wherever eligible) | `f2x2` (only
    /// F(2×2,3×3): direct convolution's accuracy).
    /// - Throws: `FoveaError` naming the variable, its value and the valid values.
    public static func winogradSetting(_ text: String?) throws -> (WinogradPolicy, WinogradTileSize) {
        switch try FoveaEnvironment.winograd.word(text) ?? "auto" {
        case "off": return (.never, .f4x4)
        case "always": return (.always, .f4x4)
        case "f2x2": return (.automatic, .f2x2)
        default: return (.automatic, .f4x4)  // auto
        }
    }

    /// The device the environment asks for: `FOVEA_DEVICE` (default `auto`) with
    /// `FOVEA_THREADS` threads (default: all cores), `FOVEA_WORKSPACE_MB` MiB of convolution
    /// workspace per call (default 64) and, for `check:<backend>`, `FOVEA_CHECK_TOLERANCE`.
    /// Every variable in `FoveaEnvironment.variables` is checked first, including those read
    /// later (`FOVEA_TENSOR_CACHE_MB`, `FOVEA_FUSION`).
    /// - Throws: `FoveaError` of kind `.invalidArgument` naming the bad variable, the values it
    ///   accepts and the value given.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> any Device {
        for variable in FoveaEnvironment.variables { try variable.validate(in: environment) }
        let threads = try FoveaEnvironment.threads.wholeNumber(in: environment)
        let workspaceBytes = try FoveaEnvironment.workspace.wholeNumber(in: environment).map { $0 << 20 }
        return try make(requestedName(environment), threads: threads, workspaceBytes: workspaceBytes, environment: environment)
    }

    /// The name `FOVEA_DEVICE` asks for, `auto` when it is unset or empty.
    public static func requestedName(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        FoveaEnvironment.device.text(in: environment) ?? automaticName
    }

    /// The process-wide default, from the environment, made once. An invalid environment stops
    /// the program with the error's message; call `fromEnvironment()` first to handle it yourself.
    public static let `default`: any Device = {
        do { return try fromEnvironment() } catch { fatalError("Fovea: \(error)") }
    }()

    @TaskLocal static var scoped: (any Device)?

    /// The device for the current scope: the innermost `with(_:_:)`, else `default`.
    public static var current: any Device { scoped ?? `default` }

    /// Runs `body` with `device` as `Devices.current` (for this task and its children).
    public static func with<R>(_ device: any Device, _ body: () throws -> R) rethrows -> R {
        try $scoped.withValue(device, operation: body)
    }

    /// One line for logs and benchmark headers, e.g. `openblas (2 threads) → dispatch → naive`
    /// (a checking device describes itself: `check:openblas (2 threads) → dispatch → naive, against naive`).
    public static func describe(_ device: any Device) -> String {
        if device is CheckingDevice { return device.description }
        var parts = [device.description]
        var next = device.fallback
        while let fallback = next {
            parts.append(fallback.name)
            next = fallback.fallback
        }
        return parts.joined(separator: " → ")
    }
}
