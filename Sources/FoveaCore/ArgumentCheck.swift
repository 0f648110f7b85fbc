/// Checks of caller-supplied arguments (layer sizes, optimizer rates, pooling windows…).
/// Each check throws `FoveaError.invalidArgument` whose message names the owner (the layer or
/// optimizer), the argument, what it must be and the value given, e.g.
/// `Linear: inputFeatures must be ≥ 1, got 0`.
public struct ArgumentCheck: Sendable {
    /// The layer, optimizer or operation named first in messages.
    public let owner: String

    public init(_ owner: String) { self.owner = owner }

    /// Throws `"<owner>: <argument> must be <requirement>, got <value>"` unless `condition` holds.
    public func require(_ condition: Bool, _ argument: String, mustBe requirement: String, got value: Any) throws {
        guard condition else {
            throw FoveaError.invalidArgument("\(owner): \(argument) must be \(requirement), got \(value)")
        }
    }

    /// `value ≥ minimum`.
    public func atLeast(_ minimum: Int, _ value: Int, _ argument: String) throws {
        try require(value >= minimum, argument, mustBe: "≥ \(minimum)", got: value)
    }

    /// Both axes of `value` ≥ `minimum`.
    public func atLeast(_ minimum: Int, _ value: Size2D, _ argument: String) throws {
        try require(value.height >= minimum && value.width >= minimum, argument, mustBe: "≥ \(minimum)", got: value)
    }

    /// A finite `value` in `[0, 1)` (`includingOne` false) or `[0, 1]`.
    public func fraction(_ value: Float, _ argument: String, includingOne: Bool) throws {
        let valid = value >= 0 && (includingOne ? value <= 1 : value < 1)
        try require(valid, argument, mustBe: includingOne ? "in [0, 1]" : "in [0, 1)", got: value)
    }

    /// A finite `value > 0`.
    public func positive(_ value: Float, _ argument: String) throws {
        try require(value > 0 && value.isFinite, argument, mustBe: "finite and > 0", got: value)
    }

    /// A finite `value ≥ 0`.
    public func nonNegative(_ value: Float, _ argument: String) throws {
        try require(value >= 0 && value.isFinite, argument, mustBe: "finite and ≥ 0", got: value)
    }

    /// A finite `value`.
    public func finite(_ value: Float, _ argument: String) throws {
        try require(value.isFinite, argument, mustBe: "finite", got: value)
    }
}
