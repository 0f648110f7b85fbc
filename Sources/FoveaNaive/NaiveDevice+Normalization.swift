import Foundation
import FoveaCore

extension NaiveDevice {
    /// For each channel c, over its M = N·H·W values x[n, c, h, w]:
    /// `μ = Σ x / M`, `σ² = Σ (x − μ)² / M`, `y = γ[c]·(x − μ)/√(σ² + ε) + β[c]`.
    public func batchNormTraining(input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float) -> BatchNormTrainingResult {
        let planes = ChannelPlanes(input.shape)
        var output = Tensor(zeros: input.shape)
        var mean = Tensor(zeros: [planes.channels])
        var variance = Tensor(zeros: [planes.channels])
        var inverseStandardDeviation = Tensor(zeros: [planes.channels])
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                for c in 0..<planes.channels {
                    var sum: Double = 0
                    for n in 0..<planes.batch {
                        for i in 0..<planes.plane { sum += Double(x[planes[n, c, i]]) }
                    }
                    let mu = sum / Double(planes.valuesPerChannel)
                    var squares: Double = 0
                    for n in 0..<planes.batch {
                        for i in 0..<planes.plane {
                            let deviation = Double(x[planes[n, c, i]]) - mu
                            squares += deviation * deviation
                        }
                    }
                    let sigma2 = squares / Double(planes.valuesPerChannel)
                    let invStd = 1 / (sigma2 + Double(epsilon)).squareRoot()
                    let (gamma, beta) = (Double(scale[c]), Double(shift[c]))
                    for n in 0..<planes.batch {
                        for i in 0..<planes.plane {
                            let index = planes[n, c, i]
                            y[index] = Float(gamma * (Double(x[index]) - mu) * invStd + beta)
                        }
                    }
                    mean[c] = Float(mu)
                    variance[c] = Float(sigma2)
                    inverseStandardDeviation[c] = Float(invStd)
                }
            }
        }
        let statistics = BatchNormStatistics(mean: mean, variance: variance, inverseStandardDeviation: inverseStandardDeviation)
        return BatchNormTrainingResult(output: output, statistics: statistics)
    }

    /// `y[n, c, h, w] = γ[c]·(x[n, c, h, w] − runningMean[c])/√(runningVariance[c] + ε) + β[c]`.
    public func batchNormInference(
        input: Tensor, scale: Tensor, shift: Tensor, runningMean: Tensor, runningVariance: Tensor, epsilon: Float
    ) -> Tensor {
        let planes = ChannelPlanes(input.shape)
        var output = Tensor(zeros: input.shape)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                for c in 0..<planes.channels {
                    let mu = Double(runningMean[c])
                    let invStd = 1 / (Double(runningVariance[c]) + Double(epsilon)).squareRoot()
                    let (gamma, beta) = (Double(scale[c]), Double(shift[c]))
                    for n in 0..<planes.batch {
                        for i in 0..<planes.plane {
                            let index = planes[n, c, i]
                            y[index] = Float(gamma * (Double(x[index]) - mu) * invStd + beta)
                        }
                    }
                }
            }
        }
        return output
    }

    /// For each channel, with `x̂ = (x − μ)·invStd` from `statistics` and M = N·H·W:
    /// `∂β = Σ ∂y`, `∂γ = Σ ∂y·x̂`, `∂x = γ·invStd/M · (M·∂y − ∂β − x̂·∂γ)`.
    public func batchNormBackward(gradOutput: Tensor, input: Tensor, scale: Tensor, statistics: BatchNormStatistics) -> BatchNormGradients {
        let planes = ChannelPlanes(input.shape)
        let count = Double(planes.valuesPerChannel)
        var gradInput = Tensor(zeros: input.shape)
        var gradScale = Tensor(zeros: [planes.channels])
        var gradShift = Tensor(zeros: [planes.channels])
        gradOutput.withUnsafeBufferPointer { dy in
            input.withUnsafeBufferPointer { x in
                gradInput.withUnsafeMutableBufferPointer { dx in
                    for c in 0..<planes.channels {
                        let mu = Double(statistics.mean[c])
                        let invStd = Double(statistics.inverseStandardDeviation[c])
                        var dBeta: Double = 0, dGamma: Double = 0
                        for n in 0..<planes.batch {
                            for i in 0..<planes.plane {
                                let index = planes[n, c, i]
                                dBeta += Double(dy[index])
                                dGamma += Double(dy[index]) * (Double(x[index]) - mu) * invStd
                            }
                        }
                        let factor = Double(scale[c]) * invStd / count
                        for n in 0..<planes.batch {
                            for i in 0..<planes.plane {
                                let index = planes[n, c, i]
                                let xHat = (Double(x[index]) - mu) * invStd
                                dx[index] = Float(factor * (count * Double(dy[index]) - dBeta - xHat * dGamma))
                            }
                        }
                        gradScale[c] = Float(dGamma)
                        gradShift[c] = Float(dBeta)
                    }
                }
            }
        }
        return BatchNormGradients(input: gradInput, scale: gradScale, shift: gradShift)
    }

    /// `y[n, c, ·] = x[n, c, ·] / s[n, c, ·]^β`, with `s` from `localResponseNormDenominators`.
    public func localResponseNormForward(input: Tensor, options: LocalResponseNormOptions) -> Tensor {
        let s = localResponseNormDenominators(input, options)
        let beta = Double(options.beta)
        var output = Tensor(zeros: input.shape)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                for index in 0..<x.count { y[index] = Float(Double(x[index]) * pow(s[index], -beta)) }
            }
        }
        return output
    }

    /// `∂x[j] = ∂y[j]·s[j]^(−β) − (2αβ/size)·x[j]·Σ_{c: j in window(c)} ∂y[c]·x[c]·s[c]^(−β−1)`,
    /// at every (n, h, w), where window(c) is `c − ⌊size/2⌋ … c + ⌊(size−1)/2⌋`.
    public func localResponseNormBackward(gradOutput: Tensor, input: Tensor, options o: LocalResponseNormOptions) -> Tensor {
        let planes = ChannelPlanes(input.shape)
        let s = localResponseNormDenominators(input, o)
        let beta = Double(o.beta)
        let coefficient = 2 * Double(o.alpha) * beta / Double(o.size)
        var gradInput = Tensor(zeros: input.shape)
        gradOutput.withUnsafeBufferPointer { dy in
            input.withUnsafeBufferPointer { x in
                gradInput.withUnsafeMutableBufferPointer { dx in
                    for n in 0..<planes.batch {
                        for i in 0..<planes.plane {
                            for j in 0..<planes.channels {
                                // Every c whose window contains j lies within `size` of j.
                                var sum: Double = 0
                                for c in (j - o.size)...(j + o.size) where (0..<planes.channels).contains(c) && o.window(of: c).contains(j) {
                                    let index = planes[n, c, i]
                                    sum += Double(dy[index]) * Double(x[index]) * pow(s[index], -beta - 1)
                                }
                                let index = planes[n, j, i]
                                dx[index] = Float(Double(dy[index]) * pow(s[index], -beta) - coefficient * Double(x[index]) * sum)
                            }
                        }
                    }
                }
            }
        }
        return gradInput
    }

    /// `s[n, c, ·] = k + α/size · Σ_{c′ in window(c)} x[n, c′, ·]²`, the sum over the channels of
    /// `c − ⌊size/2⌋ … c + ⌊(size−1)/2⌋` that exist; the divisor is `size` even where the window
    /// is clipped (as PyTorch). One Double per element of `input`.
    private func localResponseNormDenominators(_ input: Tensor, _ o: LocalResponseNormOptions) -> [Double] {
        let planes = ChannelPlanes(input.shape)
        var s = [Double](repeating: 0, count: input.count)
        input.withUnsafeBufferPointer { x in
            for n in 0..<planes.batch {
                for i in 0..<planes.plane {
                    for c in 0..<planes.channels {
                        var sum: Double = 0
                        for other in o.window(of: c).clamped(to: 0..<planes.channels) {
                            let value = Double(x[planes[n, other, i]])
                            sum += value * value
                        }
                        s[planes[n, c, i]] = Double(o.k) + Double(o.alpha) / Double(o.size) * sum
                    }
                }
            }
        }
        return s
    }
}

extension LocalResponseNormOptions {
    /// The channels `c − ⌊size/2⌋ ..< c + ⌊(size−1)/2⌋ + 1` whose squares enter `s[c]`
    /// (not clipped to the channels that exist).
    func window(of c: Int) -> Range<Int> { (c - size / 2)..<(c + (size - 1) / 2 + 1) }
}

/// Flat indices of an `[N, C, …]` tensor seen as N·C planes of `plane` = H·W (the product of the
/// trailing dimensions) values: `[n, c, i] → (n·C + c)·plane + i`.
struct ChannelPlanes {
    let batch: Int, channels: Int, plane: Int

    init(_ shape: Shape) {
        batch = shape[0]
        channels = shape[1]
        plane = shape.dimensions.dropFirst(2).reduce(1, *)
    }

    /// M = N·H·W, the values a channel's statistics run over.
    var valuesPerChannel: Int { batch * plane }

    subscript(_ n: Int, _ c: Int, _ i: Int) -> Int { (n * channels + c) * plane + i }
}
