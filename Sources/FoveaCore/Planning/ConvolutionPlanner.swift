/// A backend's convolution rules in one place: which algorithms it runs for each pass, whether
/// one can run a geometry, which one it chooses, and the plan (workspace, blocking) of each.
/// The device asks once per (geometry, pass) (`ConvolutionPlanCache`) and its drivers run the plan.
///
/// The choice depends on the geometry, the pass and the backend's kernels and workspace limit,
/// never on the thread count (the algorithms round differently, and results must be the same at
/// any `FOVEA_THREADS`); only the blocking inside a plan may follow the thread count.
public protocol ConvolutionPlanner: Sendable {
    /// The algorithms this backend has for `pass`, in the order the rules prefer them.
    func algorithms(for pass: ConvolutionPass) -> [ConvolutionAlgorithm]
    /// Why `algorithm` cannot run `pass` of `g` on this backend, or nil when it can.
    func reasonUnavailable(_ algorithm: ConvolutionAlgorithm, for g: Conv2DGeometry, pass: ConvolutionPass) -> String?
    /// The plan of `algorithm`, which can run `pass` of `g` (`reasonUnavailable` is nil).
    func plan(_ algorithm: ConvolutionAlgorithm, for g: Conv2DGeometry, pass: ConvolutionPass) -> ConvolutionPlan
    /// The plan the rules choose for `pass` of `g`.
    func chosenPlan(for g: Conv2DGeometry, pass: ConvolutionPass) -> ConvolutionPlan
}

extension ConvolutionPlanner {
    /// The plan for `pass` of `g`: the forced algorithm's where `override` names one for `pass`,
    /// else the rules' choice.
    /// - Throws: `FoveaError` of kind `.invalidArgument` naming the forced algorithm, the pass, the
    ///   geometry and why it cannot run it.
    public func plan(for g: Conv2DGeometry, pass: ConvolutionPass, forcing override: ConvolutionAlgorithmOverride) throws -> ConvolutionPlan {
        guard let forced = try forcedAlgorithm(for: g, pass: pass, override) else { return chosenPlan(for: g, pass: pass) }
        var plan = plan(forced, for: g, pass: pass)
        plan.forced = true
        return plan
    }

    /// The algorithm `override` forces for `pass`, or nil when it forces none.
    /// - Throws: `FoveaError` of kind `.invalidArgument` naming the forced algorithm, the pass, the
    ///   geometry and why it cannot run it.
    package func forcedAlgorithm(for g: Conv2DGeometry, pass: ConvolutionPass,
                                 _ override: ConvolutionAlgorithmOverride) throws -> ConvolutionAlgorithm? {
        guard let forced = override[pass] else { return nil }
        if let why = unavailability(of: forced, for: g, pass: pass) {
            throw FoveaError.invalidArgument("convolution algorithm \(forced) (forced for \(pass)) cannot run \(g): \(why)")
        }
        return forced
    }

    /// `reasonUnavailable`, or that the backend has no such algorithm for the pass.
    public func unavailability(of algorithm: ConvolutionAlgorithm, for g: Conv2DGeometry, pass: ConvolutionPass) -> String? {
        let available = algorithms(for: pass)
        guard available.contains(algorithm) else {
            return "this backend has no \(algorithm) for \(pass); it has \(available.map(\.rawValue).joined(separator: ", "))"
        }
        return reasonUnavailable(algorithm, for: g, pass: pass)
    }
}
