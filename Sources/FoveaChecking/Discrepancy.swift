import Foundation
import FoveaCore

/// How far a subject's output is from the reference's, normwise:
///
///     absolute = max_i |s_i − r_i|
///     relative = absolute / max(max_i |r_i|, floor)
///
/// The relative error is taken against the largest reference value rather than element by
/// element, because sums with cancellation legitimately produce outputs much smaller than their
/// terms, whose element-wise relative error says nothing about the backend. Positions where both
/// are NaN, or both the same infinity, agree (NaN propagation is part of the contract); any other
/// non-finite difference, or different shapes, is an infinite error.
public struct Discrepancy: Sendable, Equatable, CustomStringConvertible {
    public var absolute: Double
    public var relative: Double

    public init(absolute: Double, relative: Double) {
        self.absolute = absolute
        self.relative = relative
    }

    /// Exact agreement.
    public static let zero = Discrepancy(absolute: 0, relative: 0)
    /// Outputs that cannot be compared (different shapes or counts).
    public static let incomparable = Discrepancy(absolute: .infinity, relative: .infinity)

    /// The discrepancy of `subject` from `reference`; shapes must match.
    public init(subject: Tensor, reference: Tensor, floor: Double) {
        guard subject.shape == reference.shape else {
            self = .incomparable
            return
        }
        var largestDifference = 0.0, largestReference = 0.0
        subject.withUnsafeBufferPointer { s in
            reference.withUnsafeBufferPointer { r in
                for i in s.indices {
                    let (a, b) = (Double(s[i]), Double(r[i]))
                    if b.isFinite { largestReference = max(largestReference, abs(b)) }
                    if a == b || (a.isNaN && b.isNaN) { continue }
                    let difference = abs(a - b)
                    largestDifference = difference.isFinite ? max(largestDifference, difference) : .infinity
                }
            }
        }
        absolute = largestDifference
        relative = largestDifference.isFinite ? largestDifference / max(largestReference, floor) : .infinity
    }

    /// Integer outputs (max-pooling's argmax) must agree exactly: any mismatch is an infinite
    /// relative error; `absolute` is then the number of positions that differ.
    public init(exactSubject subject: [Int32], reference: [Int32]) {
        guard subject.count == reference.count else {
            self = .incomparable
            return
        }
        let mismatches = zip(subject, reference).reduce(0) { $0 + ($1.0 == $1.1 ? 0 : 1) }
        self = mismatches == 0 ? .zero : Discrepancy(absolute: Double(mismatches), relative: .infinity)
    }

    /// The larger of each error.
    public func merged(with other: Discrepancy) -> Discrepancy {
        Discrepancy(absolute: max(absolute, other.absolute), relative: max(relative, other.relative))
    }

    public var description: String {
        "max abs error \(Self.format(absolute)), max rel error \(Self.format(relative))"
    }

    /// `3.1e-07`, `0`, `inf`.
    public static func format(_ value: Double) -> String {
        if value == 0 { return "0" }
        if !value.isFinite { return value.isNaN ? "nan" : "inf" }
        return String(format: "%.1e", value)
    }
}
