import Fovea
import Testing

/// Expects `actual` to match the reference `expected`: the shapes first, then every element
/// within `|a − e| ≤ absolute + relative·|e|`. On failure reports the size and place of the
/// largest error and points at the caller's line.
public func expectClose(
    _ actual: Tensor, _ expected: Tensor, absolute: Float = 1e-4, relative: Float = 1e-4,
    _ context: @autoclosure () -> String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.shape == expected.shape else {
        Issue.record("\(context()): shape \(actual.shape) differs from the expected \(expected.shape)", sourceLocation: sourceLocation)
        return
    }
    if !actual.isApproximatelyEqual(to: expected, absoluteTolerance: absolute, relativeTolerance: relative) {
        let difference = actual.difference(from: expected)
        let index = difference.worstIndex
        Issue.record(
            "\(context()): \(difference); actual \(actual[flat: index]) vs expected \(expected[flat: index]) (tolerance abs \(absolute), rel \(relative))",
            sourceLocation: sourceLocation)
    }
}

/// Expects two tensors to be bit-identical.
public func expectIdentical(
    _ actual: Tensor, _ expected: Tensor, _ context: @autoclosure () -> String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.shape == expected.shape else {
        Issue.record("\(context()): shape \(actual.shape) differs from \(expected.shape)", sourceLocation: sourceLocation)
        return
    }
    let a = actual.scalars, e = expected.scalars
    if let index = a.indices.first(where: { a[$0].bitPattern != e[$0].bitPattern }) {
        Issue.record("\(context()): first difference at flat index \(index): \(a[index]) vs \(e[index])", sourceLocation: sourceLocation)
    }
}
