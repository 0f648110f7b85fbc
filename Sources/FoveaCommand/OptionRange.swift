import ArgumentParser

/// Range checks for numeric options, run from `validate()` so an out-of-range value is a usage
/// error naming the flag and the valid range before any work starts:
///
///     --scale must be between 1 and 64, got 0
enum OptionRange {
    /// Throws unless `value` (when given) lies in `range`.
    static func check<Value: Comparable>(_ value: Value?, _ range: ClosedRange<Value>, flag: String) throws {
        guard let value, !range.contains(value) else { return }
        throw ValidationError("\(flag) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
    }

    /// Throws unless `value` (when given) is at least `minimum`.
    static func check(_ value: Int?, atLeast minimum: Int, flag: String) throws {
        guard let value, value < minimum else { return }
        throw ValidationError("\(flag) must be at least \(minimum), got \(value)")
    }

    /// Throws unless `value` is finite and in `lowerExclusive < value ≤ upper`.
    static func check(_ value: Float, above lowerExclusive: Float, atMost upper: Float, flag: String) throws {
        guard value.isFinite, value > lowerExclusive, value <= upper else {
            throw ValidationError("\(flag) must be greater than \(lowerExclusive) and at most \(upper), got \(value)")
        }
    }

    /// The largest image side the image reader accepts (stb_image's limit, 2²⁴ pixels); sizes and
    /// steps measured in pixels are bounded by it.
    static let largestImageSide = 1 << 24

    /// The largest batch size and number of classes the commands accept.
    static let largestBatch = 65536
    static let largestClassCount = 65536
}
