import Foundation
import FoveaCore

/// When the checking device calls a subject's output wrong.
///
/// An output disagrees when its normwise relative error (see `Discrepancy`) exceeds `relative`:
///
///     max_i |s_i − r_i|  >  relative · max(max_i |r_i|, absoluteFloor)
///
/// **Why 1e-3 by default.** The reference (`naive`) sums in Double; a float32 backend sums in
/// float32 in blocked order. A dot product of length K has a rounding error of about
/// `√K · 2⁻²⁴ · Σ|terms|` in the typical case, i.e. relative to the largest output around
/// `√K · 6e-8`: 2e-5 for K = 10⁵ (a backward-filter reduction over a batch of 64 images of
/// 40×40), and the worst case `K · 6e-8` only with uniform signs. 1e-3 leaves that two orders of
/// margin, while a real bug (a wrong index, a skipped tile, a missing bias, a stale buffer) gives
/// errors of order 1. The absolute floor 1e-5 keeps an all-zero reference (a dead ReLU's
/// gradient) from turning a 1e-12 difference into an infinite relative error.
///
/// `FOVEA_CHECK_TOLERANCE` overrides `relative` (e.g. `FOVEA_CHECK_TOLERANCE=1e-4`).
public struct CheckTolerance: Sendable, Equatable, CustomStringConvertible {
    /// The largest accepted normwise relative error.
    public var relative: Double
    /// The smallest denominator of the relative error.
    public var absoluteFloor: Double

    /// - Throws: `.invalidArgument` unless both values are finite and > 0.
    public init(relative: Double = 1e-3, absoluteFloor: Double = 1e-5) throws {
        let check = ArgumentCheck("CheckTolerance")
        try check.require(relative > 0 && relative.isFinite, "relative", mustBe: "finite and > 0", got: relative)
        try check.require(absoluteFloor > 0 && absoluteFloor.isFinite, "absoluteFloor", mustBe: "finite and > 0", got: absoluteFloor)
        self.init(checkedRelative: relative, absoluteFloor: absoluteFloor)
    }

    private init(checkedRelative relative: Double, absoluteFloor: Double) {
        self.relative = relative
        self.absoluteFloor = absoluteFloor
    }

    /// Relative 1e-3 with an absolute floor of 1e-5.
    public static let `default` = CheckTolerance(checkedRelative: 1e-3, absoluteFloor: 1e-5)

    /// The environment variable that overrides `relative`.
    public static let environmentVariable = FoveaEnvironment.checkTolerance.name

    /// The default, with `relative` from `FOVEA_CHECK_TOLERANCE` when it is set and not empty.
    /// - Throws: `FoveaError` of kind `.invalidArgument` naming the variable and its value when the
    ///   value is not a positive finite number (`FoveaEnvironment.checkTolerance`).
    public static func fromEnvironment(_ environment: [String: String]) throws -> CheckTolerance {
        guard let value = try FoveaEnvironment.checkTolerance.positiveNumber(in: environment) else { return .default }
        return try CheckTolerance(relative: value, absoluteFloor: CheckTolerance.default.absoluteFloor)
    }

    /// True when `discrepancy` is beyond the tolerance.
    public func isExceeded(by discrepancy: Discrepancy) -> Bool { !(discrepancy.relative <= relative) }

    public var description: String { "relative \(relative), absolute floor \(absoluteFloor)" }
}
