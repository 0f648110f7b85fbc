/// A device whose convolutions run by plans (`ConvolutionPlanner`).
public protocol ConvolutionPlanning {
    /// The plan this device runs for `pass` of `g` (made once, then kept).
    /// - Throws: `FoveaError` when an algorithm forced for `pass` cannot run `g`.
    func convolutionPlan(for g: Conv2DGeometry, pass: ConvolutionPass) throws -> ConvolutionPlan
}

extension Device {
    /// Throws the error a forced convolution algorithm that cannot run `pass` of `g` would raise,
    /// so layers and the checked entry points report it before calling the non-throwing operation.
    public func checkConvolutionPlan(for g: Conv2DGeometry, pass: ConvolutionPass) throws {
        if let planning = self as? any ConvolutionPlanning { _ = try planning.convolutionPlan(for: g, pass: pass) }
        if let wrapper = self as? any ConvolutionDelegating { try wrapper.convolutionSubject.checkConvolutionPlan(for: g, pass: pass) }
    }
}

/// A device whose convolutions run on another device, `convolutionSubject` (`CheckingDevice`),
/// so `checkConvolutionPlan` checks that one's plans.
public protocol ConvolutionDelegating {
    var convolutionSubject: any Device { get }
}

extension ConvolutionPlanning {
    /// The plan for an operation that cannot throw: a forced algorithm that cannot run `g` stops
    /// the program with the planner's message (layers call `checkConvolutionPlan` first, so they throw it instead).
    public func requiredConvolutionPlan(for g: Conv2DGeometry, pass: ConvolutionPass) -> ConvolutionPlan {
        do { return try convolutionPlan(for: g, pass: pass) } catch { fatalError("Fovea: \(error)") }
    }
}
