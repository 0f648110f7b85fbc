/// What a convolution applies to each output element after adding the bias, in the same pass
/// (a fused epilogue), so the output is written once instead of being read back by a separate
/// activation: `y = epilogue(conv(x, w) + b)`.
public enum ConvolutionEpilogue: Hashable, Sendable, CustomStringConvertible {
    /// `y = conv(x, w) + b`.
    case none
    /// `y = relu(conv(x, w) + b)`, with ReLU as `Activation.relu` (`v < 0 ? 0 : v`; a NaN propagates).
    case relu

    /// The activation the epilogue applies, or nil for `.none`.
    public var activation: Activation? {
        switch self {
        case .none: nil
        case .relu: .relu
        }
    }

    /// The name checking and profiling give a fused forward with this epilogue, e.g.
    /// `batchNorm+conv2dForward+residual+ReLU`.
    package func forwardName(prologue: Bool, residual: Bool) -> String {
        (prologue ? "batchNorm+" : "") + "conv2dForward" + (residual ? "+residual" : "") + (self == .none ? "" : "+\(self)")
    }

    public var description: String {
        switch self {
        case .none: "none"
        case .relu: "ReLU"
        }
    }

    /// Adds `bias` to `count` consecutive outputs at `row` and applies the epilogue, in place.
    /// Vectorised 16 lanes at a time; the same result element by element as the unfused
    /// bias addition followed by `Activation.relu`.
    @inlinable
    public func apply(row: UnsafeMutablePointer<Float>, count: Int, bias: Float) {
        var i = 0
        let zero = SIMD16<Float>(repeating: 0)
        let shift = SIMD16<Float>(repeating: bias)
        switch self {
        case .none:
            guard bias != 0 else { return }
            while i + 16 <= count {
                let v = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD16<Float>.self) + shift
                UnsafeMutableRawPointer(row + i).storeBytes(of: v, as: SIMD16<Float>.self)
                i += 16
            }
            while i < count { row[i] += bias; i += 1 }
        case .relu:
            while i + 16 <= count {
                var v = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD16<Float>.self) + shift
                v.replace(with: zero, where: v .< zero)
                UnsafeMutableRawPointer(row + i).storeBytes(of: v, as: SIMD16<Float>.self)
                i += 16
            }
            while i < count {
                let v = row[i] + bias
                row[i] = v < 0 ? 0 : v
                i += 1
            }
        }
    }

    /// Adds `bias` (when not 0, as `apply`) and then `residual[0..<count]` to `count` consecutive
    /// outputs at `row` and applies the epilogue, in place: `y = epilogue((y + b) + r)`, the same
    /// result element by element as the unfused bias addition, `add` of the residual and
    /// `Activation.relu` (a residual block's last convolution with its skip connection). Without
    /// a residual, `apply`.
    @inlinable
    public func apply(row: UnsafeMutablePointer<Float>, count: Int, bias: Float, adding residual: UnsafePointer<Float>?) {
        guard let residual else { return apply(row: row, count: count, bias: bias) }
        var i = 0
        let zero = SIMD16<Float>(repeating: 0)
        let shift = SIMD16<Float>(repeating: bias)
        let relu = self == .relu
        while i + 16 <= count {
            var v = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD16<Float>.self)
            if bias != 0 { v += shift }
            v += UnsafeRawPointer(residual + i).loadUnaligned(as: SIMD16<Float>.self)
            if relu { v.replace(with: zero, where: v .< zero) }
            UnsafeMutableRawPointer(row + i).storeBytes(of: v, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            let v = (bias != 0 ? row[i] + bias : row[i]) + residual[i]
            row[i] = relu && v < 0 ? 0 : v
            i += 1
        }
    }
}
