import Foundation

/// Choosing the device operations run on.
///
/// - `FOVEA_DEVICE` = `naive` | `dispatch` | `openblas` (default `openblas`), read once.
/// - `FOVEA_THREADS` = a positive integer (default: all cores), for `dispatch` and `openblas`.
/// - `FOVEA_WORKSPACE_MB` = a positive integer: the most convolution workspace (im2col tiles) one
///   convolution call may allocate, in MiB (default 64), for `dispatch` and `openblas`.
/// - In code: pass a device explicitly (`try Devices.make("dispatch", threads: 2)`), or run a
///   block on one with `Devices.with(device) { … }`; `Devices.current` is what layers use.
public enum Devices {
    /// The names `FOVEA_DEVICE` accepts.
    public static let names = ["naive", "dispatch", "openblas"]

    /// Makes the device called `name` with `threads` threads (ignored by `naive`) and at most
    /// `workspaceBytes` of convolution workspace per call (default 64 MiB; ignored by `naive`).
    /// - Throws: `FoveaError` of kind `.unknownDevice` listing the valid names; `.invalidArgument`
    ///   for a thread count or workspace below 1.
    public static func make(_ name: String, threads: Int? = nil, workspaceBytes: Int? = nil) throws -> any Device {
        let threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
        guard threads >= 1 else {
            throw FoveaError.invalidArgument("thread count must be ≥ 1, got \(threads)")
        }
        let limit = workspaceBytes ?? Im2colConvolution.defaultWorkspaceLimitBytes
        guard limit >= 1 else {
            throw FoveaError.invalidArgument("convolution workspace must be ≥ 1 byte, got \(limit)")
        }
        switch name.lowercased() {
        case "naive":
            return NaiveDevice()
        case "dispatch":
            return DispatchDevice(threads: threads, fallback: NaiveDevice(), workspaceLimitBytes: limit)
        case "openblas":
            return OpenBLASDevice(threads: threads, fallback: DispatchDevice(threads: threads, fallback: NaiveDevice(), workspaceLimitBytes: limit),
                                  workspaceLimitBytes: limit)
        default:
            throw FoveaError(.unknownDevice, "unknown device '\(name)'; valid devices are: \(names.joined(separator: ", "))")
        }
    }

    /// The device the environment asks for: `FOVEA_DEVICE` (default `openblas`) with
    /// `FOVEA_THREADS` threads (default: all cores) and `FOVEA_WORKSPACE_MB` MiB of convolution
    /// workspace per call (default 64).
    /// - Throws: `FoveaError` naming the bad variable, its value, and the valid values.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> any Device {
        var threads: Int?
        if let text = environment["FOVEA_THREADS"], !text.isEmpty {
            guard let value = Int(text), value >= 1 else {
                throw FoveaError.invalidArgument("FOVEA_THREADS must be a positive integer, got '\(text)'")
            }
            threads = value
        }
        var workspaceBytes: Int?
        if let text = environment["FOVEA_WORKSPACE_MB"], !text.isEmpty {
            guard text.allSatisfy(\.isASCII), let value = Int(text), value >= 1, value <= 1 << 20 else {
                throw FoveaError.invalidArgument(
                    "FOVEA_WORKSPACE_MB must be a whole number of MiB from 1 to \(1 << 20) (the convolution workspace per call; default 64), got '\(text)'")
            }
            workspaceBytes = value << 20
        }
        let name = environment["FOVEA_DEVICE"].flatMap { $0.isEmpty ? nil : $0 } ?? "openblas"
        do {
            return try make(name, threads: threads, workspaceBytes: workspaceBytes)
        } catch let error as FoveaError where error.kind == .unknownDevice {
            throw FoveaError(.unknownDevice, "FOVEA_DEVICE=\(name) is not a device; valid devices are: \(names.joined(separator: ", "))")
        }
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

    /// One line for logs and benchmark headers, e.g. `openblas (2 threads) → dispatch → naive`.
    public static func describe(_ device: any Device) -> String {
        var parts = [device.description]
        var next = device.fallback
        while let fallback = next {
            parts.append(fallback.name)
            next = fallback.fallback
        }
        return parts.joined(separator: " → ")
    }
}
