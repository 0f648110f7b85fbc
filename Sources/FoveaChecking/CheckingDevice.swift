import FoveaCore

/// A device that checks another: every operation runs on the `subject` and on the `reference`
/// (normally `NaiveDevice`) with the same inputs, every output — results, gradients, batch-norm
/// statistics, max-pooling's argmax — is compared (`Discrepancy`), the errors are recorded per
/// layer and operation in `report`, and the **subject's** results are returned, so a run proceeds
/// exactly as it would on the subject alone (only slower).
///
/// Operations cannot throw. When an output is beyond `tolerance`, the device records a
/// `CheckViolation`; the layer running the operation throws it as a `FoveaError` when its
/// `OperationScope` ends (`DeferredErrorReporting`). Code that calls operations outside any
/// layer calls `try verify()` to the same effect.
///
/// Built by composition over the `Device` protocol only: it implements every operation of every
/// family explicitly and has no fallback, so an operation this file forgot would trap with a
/// message (`DeviceIdentity.delegate`) rather than run unchecked.
///
/// Selected with `FOVEA_DEVICE=check:<backend>` (e.g. `check:openblas`).
public struct CheckingDevice: Device, DeferredErrorReporting {
    /// The device under test; its results are the ones returned.
    public let subject: any Device
    /// The device trusted to be right.
    public let reference: any Device
    public let tolerance: CheckTolerance
    public let report: CheckReport

    public init(subject: any Device, reference: any Device, tolerance: CheckTolerance = .default, report: CheckReport = CheckReport()) {
        self.subject = subject
        self.reference = reference
        self.tolerance = tolerance
        self.report = report
    }

    /// `check:` and the subject's name, e.g. `check:openblas`.
    public var name: String { "check:\(subject.name)" }

    public var threadCount: Int { subject.threadCount }

    /// None: every operation is implemented here (see the type's documentation).
    public var fallback: (any Device)? { nil }

    /// E.g. `check:openblas (2 threads) → dispatch → naive, against naive`.
    public var description: String {
        var chain = [subject.description]
        var next = subject.fallback
        while let device = next {
            chain.append(device.name)
            next = device.fallback
        }
        return "check:" + chain.joined(separator: " → ") + ", against \(reference.name)"
    }

    public func takePendingError() -> FoveaError? { report.takePendingViolation()?.error }

    /// Throws the first violation not yet thrown, if any (for operations run outside layers).
    public func verify() throws {
        if let error = takePendingError() { throw error }
    }

    // MARK: The comparison every operation goes through

    /// One output of an operation, as the subject and the reference computed it.
    struct Output {
        var name: String
        var discrepancy: Discrepancy

        /// `scale`: for a sum that may cancel, the magnitude of its terms (`ReductionScale`); the
        /// relative error's denominator is then at least `scale`.
        init(_ name: String, _ subject: Tensor, _ reference: Tensor, floor: Double, scale: Double = 0) {
            self.name = name
            discrepancy = Discrepancy(subject: subject, reference: reference, floor: max(floor, scale))
        }

        init(_ name: String, exact subject: [Int32], _ reference: [Int32]) {
            self.name = name
            discrepancy = Discrepancy(exactSubject: subject, reference: reference)
        }

        init(_ name: String, _ discrepancy: Discrepancy) {
            self.name = name
            self.discrepancy = discrepancy
        }
    }

    /// Runs `operation` on the reference and on the subject, compares their results with
    /// `outputs`, records the errors, and returns the subject's result.
    func checked<Result>(
        _ operation: String, shapes: String,
        run: (any Device) -> Result,
        outputs: (_ subject: Result, _ reference: Result, _ floor: Double) -> [Output]
    ) -> Result {
        let expected = run(reference)
        let actual = run(subject)
        audit(operation, shapes: shapes, outputs(actual, expected, tolerance.absoluteFloor))
        return actual
    }

    /// `checked` for operations with one tensor result.
    func checked(_ operation: String, shapes: String, run: (any Device) -> Tensor) -> Tensor {
        checked(operation, shapes: shapes, run: run) { actual, expected, floor in
            [Output("output", actual, expected, floor: floor)]
        }
    }

    /// Records one call: the worst output's errors, and a violation if it is beyond the tolerance.
    func audit(_ operation: String, shapes: String, _ outputs: [Output]) {
        let layer = OperationScope.current ?? CheckReport.outsideLayers
        let worst = outputs.max { $0.discrepancy.relative < $1.discrepancy.relative } ?? Output("output", .zero)
        let total = outputs.reduce(Discrepancy.zero) { $0.merged(with: $1.discrepancy) }
        let violation = tolerance.isExceeded(by: worst.discrepancy)
            ? CheckViolation(device: name, reference: reference.name, layer: layer, operation: operation, shapes: shapes,
                             output: worst.name, discrepancy: worst.discrepancy, tolerance: tolerance)
            : nil
        report.record(device: name, layer: layer, operation: operation, shapes: shapes, discrepancy: total, violation: violation)
    }
}
