import Foundation

/// A learning rate as a function of the step (an epoch or an iteration, as the caller counts).
public protocol LearningRateSchedule: Sendable {
    /// The rate at `step` (0-based) for the base rate `base`.
    func learningRate(base: Float, step: Int) -> Float
}

/// Multiplies the rate by `gamma` every `stepSize` steps (PyTorch's `StepLR`).
public struct StepDecay: LearningRateSchedule {
    public var stepSize: Int
    public var gamma: Float
    /// - Throws: `.invalidArgument` when `stepSize` < 1 or `gamma` is not finite and ≥ 0.
    public init(stepSize: Int, gamma: Float = 0.1) throws {
        let check = ArgumentCheck("StepDecay")
        try check.atLeast(1, stepSize, "stepSize")
        try check.nonNegative(gamma, "gamma")
        self.stepSize = stepSize
        self.gamma = gamma
    }
    public func learningRate(base: Float, step: Int) -> Float {
        base * Float(pow(Double(gamma), Double(step / max(stepSize, 1))))
    }
}

/// Multiplies the rate by `gamma` at each milestone (PyTorch's `MultiStepLR`).
public struct MultiStepDecay: LearningRateSchedule {
    public var milestones: [Int]
    public var gamma: Float
    /// - Throws: `.invalidArgument` when `gamma` is not finite and ≥ 0.
    public init(milestones: [Int], gamma: Float = 0.1) throws {
        try ArgumentCheck("MultiStepDecay").nonNegative(gamma, "gamma")
        self.milestones = milestones.sorted()
        self.gamma = gamma
    }
    public func learningRate(base: Float, step: Int) -> Float {
        base * Float(pow(Double(gamma), Double(milestones.filter { $0 <= step }.count)))
    }
}

/// Cosine annealing from the base rate to `minimum` over `totalSteps` (PyTorch's
/// `CosineAnnealingLR`): `min + (base − min)·(1 + cos(π·t/T))/2`, then `min`.
public struct CosineAnnealing: LearningRateSchedule {
    public var totalSteps: Int
    public var minimum: Float
    /// - Throws: `.invalidArgument` when `totalSteps` < 1 or `minimum` is not finite and ≥ 0.
    public init(totalSteps: Int, minimum: Float = 0) throws {
        let check = ArgumentCheck("CosineAnnealing")
        try check.atLeast(1, totalSteps, "totalSteps")
        try check.nonNegative(minimum, "minimum")
        self.totalSteps = totalSteps
        self.minimum = minimum
    }
    public func learningRate(base: Float, step: Int) -> Float {
        let t = Double(min(step, totalSteps)) / Double(max(totalSteps, 1))
        return minimum + (base - minimum) * Float((1 + cos(Double.pi * t)) / 2)
    }
}

/// Ramps the rate linearly up over `warmupSteps` — `base·(t + 1)/warmupSteps` — then follows
/// `then` (counting from the end of the warm-up), or stays at the base rate.
public struct LinearWarmup: LearningRateSchedule {
    public var warmupSteps: Int
    public var then: (any LearningRateSchedule)?
    /// - Throws: `.invalidArgument` when `warmupSteps` < 1.
    public init(warmupSteps: Int, then: (any LearningRateSchedule)? = nil) throws {
        try ArgumentCheck("LinearWarmup").atLeast(1, warmupSteps, "warmupSteps")
        self.warmupSteps = warmupSteps
        self.then = then
    }
    public func learningRate(base: Float, step: Int) -> Float {
        if step < warmupSteps { return base * Float(step + 1) / Float(max(warmupSteps, 1)) }
        return then?.learningRate(base: base, step: step - warmupSteps) ?? base
    }
}
