import Dispatch
import FoveaCore

/// A device that times another: every operation runs on `subject` unchanged, and its wall-clock
/// time is appended to `log` with the layer that issued it (`OperationScope.current`), its kind
/// (for convolutions, the algorithm the subject's plan chose), its shapes and its FLOPs.
///
/// Results are the subject's, bit for bit, so a profiled run computes exactly what an unprofiled
/// one does; the cost is one clock read before and after each operation and one locked append.
/// What happens between operations (the graph's own bookkeeping, allocation of tensors outside
/// operations, the optimizer's update) is not an operation; `ModelProfiler` reports it as the
/// difference between the wall-clock time of a run and the sum of its operations.
///
/// Like `CheckingDevice`, it implements every operation of every family itself and has no
/// fallback, so an operation missing here would trap rather than run untimed (and
/// `DeviceCoverageTests` fails first).
public struct ProfilingDevice: Device {
    /// The device whose operations are timed and whose results are returned.
    public let subject: any Device
    public let log: OperationLog

    public init(subject: any Device, log: OperationLog = OperationLog()) {
        self.subject = subject
        self.log = log
    }

    /// `profile:` and the subject's name, e.g. `profile:dispatch`.
    public var name: String { "profile:\(subject.name)" }

    public var threadCount: Int { subject.threadCount }

    /// None: every operation is implemented here.
    public var fallback: (any Device)? { nil }

    public var description: String { "profile:\(subject.description)" }

    /// Runs `body` on the subject and records its time.
    func timed<R>(_ operation: String, _ kind: OperationKind, shapes: @autoclosure () -> String, flops: Double? = nil,
                  _ body: (any Device) -> R) -> R {
        let start = DispatchTime.now().uptimeNanoseconds
        let result = body(subject)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        log.append(OperationRecord(layer: OperationScope.current ?? Self.outsideLayers, operation: operation, kind: kind,
                                   shapes: shapes(), flops: flops, seconds: seconds))
        return result
    }

    /// The layer name of operations run outside every `OperationScope`.
    public static let outsideLayers = "(outside layers)"

    /// `8×64×56×56` for a shape.
    static func dims(_ shape: Shape) -> String { shape.dimensions.map(String.init).joined(separator: "×") }
}

extension ProfilingDevice: ConvolutionDelegating {
    /// The subject, whose plans decide how its convolutions run.
    public var convolutionSubject: any Device { subject }
}

extension ProfilingDevice: DeferredErrorReporting {
    /// The subject's pending error, when the subject reports them (a profiled checking device).
    public func takePendingError() -> FoveaError? { (subject as? any DeferredErrorReporting)?.takePendingError() }
}
