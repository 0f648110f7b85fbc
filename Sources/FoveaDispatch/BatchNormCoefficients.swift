import CFoveaKernels
import FoveaCore

/// The Dispatch device's evaluation-mode batch norm per channel c:
/// `y = finish((x − μ_c)·a_c + β_c)` with `a_c = γ_c/√(σ²_c + ε)` worked out in Double, then the
/// activation, in Float 16 lanes at a time. Shared by `batchNormInference` and the prologue of a
/// pre-activation convolution (`conv2dForward(input:prologue:…)`), so both give the same bits.
/// (Subtracting μ first keeps inputs far from zero, e.g. all near −20, as accurate as the naive
/// reference; `x·a + (β − μ·a)` lost four digits there.)
struct BatchNormCoefficients: @unchecked Sendable {
    /// μ, a and β of every channel, one array after another, alive as long as this value (and its copies).
    private final class Storage {
        let values: UnsafeMutablePointer<Float>

        init(_ arrays: [[Float]]) {
            values = .allocate(capacity: arrays.reduce(0) { $0 + $1.count })
            var at = values
            for array in arrays {
                at.initialize(from: array, count: array.count)
                at += array.count
            }
        }

        deinit { values.deallocate() }
    }

    private let storage: Storage
    /// How many channels the coefficients cover.
    let channels: Int
    /// The coefficients as the C packer and the loops below take them: pointers into this value's
    /// storage, valid while the value lives (keep it alive, e.g. `withExtendedLifetime`, while
    /// they are used).
    let normalization: fovea_channel_normalization

    init(scale: Tensor, shift: Tensor, runningMean: Tensor, runningVariance: Tensor, epsilon: Float, activation: Activation?) {
        let (gamma, variance) = (scale.scalars, runningVariance.scalars)
        precondition([variance.count, shift.count, runningMean.count].allSatisfy { $0 == gamma.count },
                     "BatchNormCoefficients: scale, shift, running mean and variance must have one value per channel")
        let a = gamma.indices.map { c in Float(Double(gamma[c]) / (Double(variance[c]) + Double(epsilon)).squareRoot()) }
        channels = a.count
        storage = Storage([runningMean.scalars, a, shift.scalars])
        let (kind, slope): (Int32, Float) = switch activation {
        case nil: (0, 0)
        case .relu: (1, 0)
        case .leakyReLU(let slope): (2, slope)
        }
        let (values, channels) = (UnsafePointer(storage.values), self.channels)
        normalization = fovea_channel_normalization(mean: values, scale: values + channels, shift: values + 2 * channels,
                                                    activation: kind, slope: slope)
    }

    /// The coefficients of `p` for an input of `channels` channels (the loops read them by raw pointer).
    init(_ p: BatchNormPrologue, channels: Int) {
        self.init(scale: p.scale, shift: p.shift, runningMean: p.runningMean, runningVariance: p.runningVariance,
                  epsilon: p.epsilon, activation: p.activation)
        precondition(self.channels == channels, "BatchNormCoefficients: a prologue of \(self.channels) channels for an input of \(channels)")
    }

    /// `y[i] = activation((x[i] − μ_c)·a_c + β_c)` for `i < count` (`x` and `y` may be the same),
    /// 16 values at a time, the last few one by one (the same operations).
    @inline(__always)
    func apply(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, channel c: Int) {
        withExtendedLifetime(storage) {
            let n = normalization
            var i = 0
            while i + 16 <= count {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(y + i).storeBytes(of: n.normalized(v, channel: c), as: SIMD16<Float>.self)
                i += 16
            }
            while i < count {
                y[i] = n.normalized(x[i], channel: c)
                i += 1
            }
        }
    }
}

extension fovea_channel_normalization {
    /// `activation((v − μ_c)·a_c + β_c)` lane by lane: a subtraction, a multiplication, an
    /// addition, then ReLU (`< 0 → 0`, NaN kept) or leaky ReLU (`≤ 0 → ·slope`) — what the C
    /// packer computes.
    @inline(__always)
    func normalized(_ v: SIMD16<Float>, channel c: Int) -> SIMD16<Float> {
        let y = (v - SIMD16(repeating: mean.unsafelyUnwrapped[c])) * SIMD16(repeating: scale.unsafelyUnwrapped[c])
            + SIMD16(repeating: shift.unsafelyUnwrapped[c])
        switch activation {
        case 1: return y.replacing(with: 0, where: y .< 0)
        case 2: return y.replacing(with: y * slope, where: y .<= 0)
        default: return y
        }
    }

    /// One value normalised exactly as a lane of `normalized(_:channel:)` (the same operations).
    @inline(__always)
    func normalized(_ x: Float, channel c: Int) -> Float {
        let y = (x - mean.unsafelyUnwrapped[c]) * scale.unsafelyUnwrapped[c] + shift.unsafelyUnwrapped[c]
        switch activation {
        case 1: return y < 0 ? 0 : y
        case 2: return y <= 0 ? y * slope : y
        default: return y
        }
    }

    /// The same normalisation with channel 0 at channel `channels` of this one.
    func advanced(by channels: Int) -> fovea_channel_normalization {
        var shifted = self
        (shifted.mean, shifted.scale, shifted.shift) = (mean.map { $0 + channels }, scale.map { $0 + channels }, shift.map { $0 + channels })
        return shifted
    }
}

/// Its pointers are to coefficients no one writes once made (`BatchNormCoefficients`).
extension fovea_channel_normalization: @retroactive @unchecked Sendable {}
