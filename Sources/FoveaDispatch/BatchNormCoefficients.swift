import CFoveaKernels
import FoveaCore

/// The Dispatch device's evaluation-mode batch norm per channel c:
/// `y = finish((x − μ_c)·a_c + β_c)` with `a_c = γ_c/√(σ²_c + ε)` worked out in Double, then the
/// activation, in Float 16 lanes at a time. Shared by `batchNormInference` and the prologue of a
/// pre-activation convolution (`conv2dForward(input:prologue:…)`), so both give the same bits.
/// (Subtracting μ first keeps inputs far from zero, e.g. all near −20, as accurate as the naive
/// reference; `x·a + (β − μ·a)` lost four digits there.)
struct BatchNormCoefficients: Sendable {
    let mean: [Float]
    let a: [Float]
    let shift: [Float]
    let activation: Activation?

    init(scale: Tensor, shift: Tensor, runningMean: Tensor, runningVariance: Tensor, epsilon: Float, activation: Activation?) {
        let (gamma, variance) = (scale.scalars, runningVariance.scalars)
        a = gamma.indices.map { c in Float(Double(gamma[c]) / (Double(variance[c]) + Double(epsilon)).squareRoot()) }
        mean = runningMean.scalars
        self.shift = shift.scalars
        self.activation = activation
    }

    init(_ p: BatchNormPrologue) {
        self.init(scale: p.scale, shift: p.shift, runningMean: p.runningMean, runningVariance: p.runningVariance,
                  epsilon: p.epsilon, activation: p.activation)
    }

    /// Calls `body` with these coefficients for the C packer (`fovea_channel_normalization`), its
    /// channel 0 being channel `firstChannel` here; the pointers live only during the call.
    func withNormalization<R>(firstChannel: Int, _ body: (fovea_channel_normalization) -> R) -> R {
        let (kind, slope): (Int32, Float) = switch activation {
        case nil: (0, 0)
        case .relu: (1, 0)
        case .leakyReLU(let slope): (2, slope)
        }
        return mean.withUnsafeBufferPointer { mean in
            a.withUnsafeBufferPointer { a in
                shift.withUnsafeBufferPointer { shift in
                    body(fovea_channel_normalization(mean: mean.baseAddress! + firstChannel, scale: a.baseAddress! + firstChannel,
                                                     shift: shift.baseAddress! + firstChannel, activation: kind, slope: slope))
                }
            }
        }
    }

    /// `y[i] = activation((x[i] − μ_c)·a_c + β_c)` for `i < count` (`x` and `y` may be the same).
    @inline(__always)
    func apply(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, channel c: Int) {
        switch activation {
        case nil: Self.normalize(x, y, count: count, mean[c], a[c], shift[c]) { $0 }
        case .relu: Self.normalize(x, y, count: count, mean[c], a[c], shift[c]) { $0.replacing(with: 0, where: $0 .< 0) }
        case .leakyReLU(let slope):
            Self.normalize(x, y, count: count, mean[c], a[c], shift[c]) { $0.replacing(with: $0 * slope, where: $0 .<= 0) }
        }
    }

    /// `y[i] = finish((x[i] − mean)·a + b)` for `i < count`, 16 values at a time (the tail through a zero-padded vector).
    @inline(__always)
    private static func normalize(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, _ mean: Float, _ a: Float, _ b: Float,
                                  _ finish: (SIMD16<Float>) -> SIMD16<Float>) {
        let (mv, av, bv) = (SIMD16<Float>(repeating: mean), SIMD16<Float>(repeating: a), SIMD16<Float>(repeating: b))
        var i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: finish((v - mv) * av + bv), as: SIMD16<Float>.self)
            i += 16
        }
        guard i < count else { return }
        var tail = SIMD16<Float>()
        for j in 0..<(count - i) { tail[j] = x[i + j] }
        let result = finish((tail - mv) * av + bv)
        for j in 0..<(count - i) { y[i + j] = result[j] }
    }
}

extension fovea_channel_normalization {
    /// The same normalisation with channel 0 at channel `channels` of this one.
    func advanced(by channels: Int) -> fovea_channel_normalization {
        var shifted = self
        (shifted.mean, shifted.scale, shifted.shift) = (mean.map { $0 + channels }, scale.map { $0 + channels }, shift.map { $0 + channels })
        return shifted
    }
}
