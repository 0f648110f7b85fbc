/// Small in-place helpers for bookkeeping outside the hot paths (gradient accumulation,
/// optimiser updates). Heavy element-wise work goes through the device.
extension Tensor {
    /// `self += other` element-wise; the shapes must be equal.
    public static func += (lhs: inout Tensor, rhs: Tensor) {
        fatalUnless(lhs.shape == rhs.shape, "cannot add a tensor of shape \(rhs.shape) to one of shape \(lhs.shape)")
        rhs.withUnsafeBufferPointer { b in
            lhs.withUnsafeMutableBufferPointer { a in
                for i in a.indices { a[i] += b[i] }
            }
        }
    }

    /// `self *= scalar` element-wise.
    public static func *= (lhs: inout Tensor, rhs: Float) {
        lhs.withUnsafeMutableBufferPointer { a in
            for i in a.indices { a[i] *= rhs }
        }
    }

    /// True when every element is finite (no NaN or infinity).
    public var isFinite: Bool {
        withUnsafeBufferPointer { $0.allSatisfy { $0.isFinite } }
    }
}
