/// How far apart two tensors are, element by element.
public struct TensorDifference: Sendable, CustomStringConvertible {
    /// `max |a - b|`.
    public var maxAbsolute: Float
    /// `max |a - b| / max(|b|, floor)` — relative to the reference `b`.
    public var maxRelative: Float
    /// The flat index where the absolute difference is largest.
    public var worstIndex: Int

    public var description: String {
        "max abs error \(maxAbsolute), max rel error \(maxRelative) (at flat index \(worstIndex))"
    }
}

extension Tensor {
    /// The element-wise difference to a reference tensor of the same shape.
    /// `relativeFloor` keeps relative errors meaningful where the reference is near zero.
    public func difference(from reference: Tensor, relativeFloor: Float = 1e-3) -> TensorDifference {
        fatalUnless(shape == reference.shape, "cannot compare tensors of shapes \(shape) and \(reference.shape)")
        var result = TensorDifference(maxAbsolute: 0, maxRelative: 0, worstIndex: 0)
        withUnsafeBufferPointer { a in
            reference.withUnsafeBufferPointer { b in
                for i in a.indices {
                    let absolute = abs(a[i] - b[i])
                    if !(absolute <= result.maxAbsolute) {  // also catches NaN
                        result.maxAbsolute = absolute.isNaN ? .infinity : absolute
                        result.worstIndex = i
                    }
                    let relative = absolute / max(abs(b[i]), relativeFloor)
                    if !(relative <= result.maxRelative) { result.maxRelative = relative.isNaN ? .infinity : relative }
                }
            }
        }
        return result
    }

    /// True when shapes match and every element satisfies
    /// `|a - b| <= absoluteTolerance + relativeTolerance · |b|` (as NumPy's `allclose`).
    public func isApproximatelyEqual(
        to reference: Tensor, absoluteTolerance: Float = 1e-5, relativeTolerance: Float = 1e-4
    ) -> Bool {
        guard shape == reference.shape else { return false }
        return withUnsafeBufferPointer { a in
            reference.withUnsafeBufferPointer { b in
                for i in a.indices where !(abs(a[i] - b[i]) <= absoluteTolerance + relativeTolerance * abs(b[i])) {
                    return false
                }
                return true
            }
        }
    }
}
