import Foundation
import FoveaCore

/// Batch normalisation on GCD workers, parallel over channels (training, backward) or over
/// (n, c) planes (inference). Every sum of a channel is taken by one worker in one fixed order —
/// images in order, each image's H·W values in four interleaved `Double` partial sums
/// (`ChannelPlanes.sum`) — so the results are bit-identical at any thread count. Element-wise
/// passes are computed in `Double` too, so a large mean relative to the spread costs no accuracy.
extension DispatchDevice {
    /// `μ = Σ x / M`, `σ² = Σ (x − μ)² / M` (two passes), `y = γ·(x − μ)/√(σ² + ε) + β` per
    /// channel, M = N·H·W. Input `[N, C, H, W]`; the statistics are `[C]`.
    public func batchNormTraining(input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float) -> BatchNormTrainingResult {
        let planes = ChannelPlanes(input.shape)
        let (gamma, beta) = (scale.scalars, shift.scalars)
        var output = Tensor(zeros: input.shape)
        // Per channel c: [3c] μ, [3c + 1] σ², [3c + 2] 1/√(σ² + ε).
        var moments = [Float](repeating: 0, count: 3 * planes.channels)
        input.withUnsafeBufferPointer { xBuffer in
            output.withUnsafeMutableBufferPointer { yBuffer in
                moments.withUnsafeMutableBufferPointer { momentsBuffer in
                    let x = SendablePointer(xBuffer.baseAddress!), y = SendablePointer(yBuffer.baseAddress!)
                    let stats = SendablePointer(momentsBuffer.baseAddress!)
                    Parallel.forEach(planes.channels, threads: threadCount) { _, c in
                        let count = Double(planes.valuesPerChannel)
                        let mean = planes.sum(channel: c) { Double(x.pointer[$0]) } / count
                        let variance = planes.sum(channel: c) { i in
                            let deviation = Double(x.pointer[i]) - mean
                            return deviation * deviation
                        } / count
                        let invStd = 1 / (variance + Double(epsilon)).squareRoot()
                        planes.normalize(channel: c, x.pointer, into: y.pointer,
                                         mean: mean, factor: Double(gamma[c]) * invStd, shift: Double(beta[c]))
                        stats.pointer[3 * c] = Float(mean)
                        stats.pointer[3 * c + 1] = Float(variance)
                        stats.pointer[3 * c + 2] = Float(invStd)
                    }
                }
            }
        }
        let channels = planes.channels
        let statistics = BatchNormStatistics(
            mean: Tensor(shape: [channels], scalars: (0..<channels).map { moments[3 * $0] }),
            variance: Tensor(shape: [channels], scalars: (0..<channels).map { moments[3 * $0 + 1] }),
            inverseStandardDeviation: Tensor(shape: [channels], scalars: (0..<channels).map { moments[3 * $0 + 2] }))
        return BatchNormTrainingResult(output: output, statistics: statistics)
    }

    /// `y = γ·(x − runningMean)/√(runningVariance + ε) + β` per channel, parallel over the N·C planes.
    public func batchNormInference(
        input: Tensor, scale: Tensor, shift: Tensor, runningMean: Tensor, runningVariance: Tensor, epsilon: Float
    ) -> Tensor {
        batchNormInference(input: input, scale: scale, shift: shift, runningMean: runningMean, runningVariance: runningVariance,
                           epsilon: epsilon, activation: nil)
    }

    /// The same, then `activation` applied to each plane while it is in cache (BN → ReLU fused).
    public func batchNormInference(
        input: Tensor, scale: Tensor, shift: Tensor, runningMean: Tensor, runningVariance: Tensor, epsilon: Float, activation: Activation
    ) -> Tensor {
        batchNormInference(input: input, scale: scale, shift: shift, runningMean: runningMean, runningVariance: runningVariance,
                           epsilon: epsilon, activation: Optional(activation))
    }

    /// Per plane, `BatchNormCoefficients.apply`: the normalisation, then the activation in the
    /// same pass.
    private func batchNormInference(
        input: Tensor, scale: Tensor, shift: Tensor, runningMean: Tensor, runningVariance: Tensor, epsilon: Float, activation: Activation?
    ) -> Tensor {
        let planes = ChannelPlanes(input.shape)
        let coefficients = BatchNormCoefficients(scale: scale, shift: shift, runningMean: runningMean, runningVariance: runningVariance,
                                                 epsilon: epsilon, activation: activation)
        var output = Tensor(uninitialized: input.shape)  // every element is written below
        input.withUnsafeBufferPointer { xBuffer in
            output.withUnsafeMutableBufferPointer { yBuffer in
                let x = SendablePointer(xBuffer.baseAddress!), y = SendablePointer(yBuffer.baseAddress!)
                Parallel.forEach(planes.batch * planes.channels, threads: threadCount) { _, item in
                    coefficients.apply(x.pointer + item * planes.plane, y.pointer + item * planes.plane, count: planes.plane,
                                       channel: item % planes.channels)
                }
            }
        }
        return output
    }

    /// Per channel, with `x̂ = (x − μ)·invStd` from `statistics`: `∂β = Σ ∂y`, `∂γ = Σ ∂y·x̂`,
    /// `∂x = γ·invStd/M · (M·∂y − ∂β − x̂·∂γ)`. Parallel over channels.
    public func batchNormBackward(gradOutput: Tensor, input: Tensor, scale: Tensor, statistics: BatchNormStatistics) -> BatchNormGradients {
        let planes = ChannelPlanes(input.shape)
        let (gamma, means, invStds) = (scale.scalars, statistics.mean.scalars, statistics.inverseStandardDeviation.scalars)
        var gradInput = Tensor(zeros: input.shape)
        // Per channel c: [2c] ∂γ, [2c + 1] ∂β.
        var parameterGradients = [Float](repeating: 0, count: 2 * planes.channels)
        gradOutput.withUnsafeBufferPointer { dyBuffer in
            input.withUnsafeBufferPointer { xBuffer in
                gradInput.withUnsafeMutableBufferPointer { dxBuffer in
                    parameterGradients.withUnsafeMutableBufferPointer { parameterBuffer in
                        let dy = SendablePointer(dyBuffer.baseAddress!), x = SendablePointer(xBuffer.baseAddress!)
                        let dx = SendablePointer(dxBuffer.baseAddress!), parameters = SendablePointer(parameterBuffer.baseAddress!)
                        Parallel.forEach(planes.channels, threads: threadCount) { _, c in
                            let (mean, invStd) = (Double(means[c]), Double(invStds[c]))
                            let count = Double(planes.valuesPerChannel)
                            let dBeta = planes.sum(channel: c) { Double(dy.pointer[$0]) }
                            let dGamma = planes.sum(channel: c) { i in Double(dy.pointer[i]) * (Double(x.pointer[i]) - mean) } * invStd
                            let factor = Double(gamma[c]) * invStd / count
                            for n in 0..<planes.batch {
                                let start = planes[n, c, 0]
                                let (xs, dys, dxs) = (x.pointer + start, dy.pointer + start, dx.pointer + start)
                                for i in 0..<planes.plane {
                                    let xHat = (Double(xs[i]) - mean) * invStd
                                    dxs[i] = Float(factor * (count * Double(dys[i]) - dBeta - xHat * dGamma))
                                }
                            }
                            parameters.pointer[2 * c] = Float(dGamma)
                            parameters.pointer[2 * c + 1] = Float(dBeta)
                        }
                    }
                }
            }
        }
        let channels = planes.channels
        return BatchNormGradients(
            input: gradInput,
            scale: Tensor(shape: [channels], scalars: (0..<channels).map { parameterGradients[2 * $0] }),
            shift: Tensor(shape: [channels], scalars: (0..<channels).map { parameterGradients[2 * $0 + 1] }))
    }
}

/// Local response normalisation on GCD workers. Work items are (image, block of contiguous h·w
/// positions); an item loops over the channels with the position as the inner loop, so every
/// inner loop runs along memory. The block width depends on the shape only, and every value is
/// computed by one item in a fixed order, so the results are bit-identical at any thread count.
extension DispatchDevice {
    /// `y[c] = x[c] / s[c]^β` with `s[c] = k + α/size · Σ_{c′ in window(c)} x[c′]²`, at every
    /// (n, h, w); window(c) is the channels `c − ⌊size/2⌋ … c + ⌊(size−1)/2⌋` that exist.
    public func localResponseNormForward(input: Tensor, options o: LocalResponseNormOptions) -> Tensor {
        let blocks = PositionBlocks(ChannelPlanes(input.shape))
        var output = Tensor(zeros: input.shape)
        input.withUnsafeBufferPointer { xBuffer in
            output.withUnsafeMutableBufferPointer { yBuffer in
                let x = SendablePointer(xBuffer.baseAddress!), y = SendablePointer(yBuffer.baseAddress!)
                Parallel.forEach(blocks.count, threads: threadCount) { _, item in
                    let block = blocks[item]
                    let (alphaOverSize, k, beta) = (o.alpha / Float(o.size), o.k, o.beta)
                    for c in 0..<blocks.planes.channels {
                        // y[c] ← Σ x[c′]² first, then y[c] ← x[c]·(k + α/size·y[c])^(−β).
                        let (xc, yc) = (x.pointer + block.start(c), y.pointer + block.start(c))
                        blocks.sumOfSquares(x.pointer, block, window: o.window(of: c), into: yc)
                        for p in 0..<block.width { yc[p] = xc[p] * pow(k + alphaOverSize * yc[p], -beta) }
                    }
                }
            }
        }
        return output
    }

    /// `∂x[j] = ∂y[j]·s[j]^(−β) − (2αβ/size)·x[j]·Σ_{c: j in window(c)} t[c]`, with
    /// `t[c] = ∂y[c]·x[c]·s[c]^(−β−1)`. Each worker keeps t for its block of positions
    /// (C × block width floats, allocated once per call).
    public func localResponseNormBackward(gradOutput: Tensor, input: Tensor, options o: LocalResponseNormOptions) -> Tensor {
        let blocks = PositionBlocks(ChannelPlanes(input.shape))
        let channels = blocks.planes.channels
        let scratchPerWorker = channels * blocks.width
        let workers = min(threadCount, blocks.count)
        let scratchBuffer = UnsafeMutablePointer<Float>.allocate(capacity: max(workers * scratchPerWorker, 1))
        defer { scratchBuffer.deallocate() }
        let scratch = SendablePointer(scratchBuffer)
        var gradInput = Tensor(zeros: input.shape)
        gradOutput.withUnsafeBufferPointer { dyBuffer in
            input.withUnsafeBufferPointer { xBuffer in
                gradInput.withUnsafeMutableBufferPointer { dxBuffer in
                    let dy = SendablePointer(dyBuffer.baseAddress!), x = SendablePointer(xBuffer.baseAddress!)
                    let dx = SendablePointer(dxBuffer.baseAddress!)
                    Parallel.forEach(blocks.count, threads: threadCount) { worker, item in
                        let block = blocks[item]
                        let (alphaOverSize, k, beta) = (o.alpha / Float(o.size), o.k, o.beta)
                        let coefficient = 2 * o.alpha * o.beta / Float(o.size)
                        let t = scratch.pointer + worker * scratchPerWorker
                        for c in 0..<channels {
                            // ∂x[c] ← Σ x[c′]² first, then ∂x[c] ← ∂y[c]·s^(−β) and t[c] ← ∂y[c]·x[c]·s^(−β)/s.
                            let (xc, dyc, dxc, tc) = (x.pointer + block.start(c), dy.pointer + block.start(c),
                                                      dx.pointer + block.start(c), t + c * blocks.width)
                            blocks.sumOfSquares(x.pointer, block, window: o.window(of: c), into: dxc)
                            for p in 0..<block.width {
                                let s = k + alphaOverSize * dxc[p]
                                let power = pow(s, -beta)
                                tc[p] = dyc[p] * xc[p] * power / s
                                dxc[p] = dyc[p] * power
                            }
                        }
                        for j in 0..<channels {
                            let (xj, dxj) = (x.pointer + block.start(j), dx.pointer + block.start(j))
                            for c in o.windows(containing: j).clamped(to: 0..<channels) {
                                let tc = t + c * blocks.width
                                for p in 0..<block.width { dxj[p] -= coefficient * xj[p] * tc[p] }
                            }
                        }
                    }
                }
            }
        }
        return gradInput
    }
}

/// The work items of local response normalisation: each image's H·W positions cut into blocks of
/// `width` contiguous positions (the last block of an image may be shorter). `width` keeps a
/// block's C × width floats of backward scratch near 128 KiB.
struct PositionBlocks: Sendable {
    struct Block {
        let image: Int, first: Int, width: Int
        let planes: ChannelPlanes
        /// The flat index of the block's first position in channel c.
        @inline(__always) func start(_ c: Int) -> Int { planes[image, c, first] }
    }

    let planes: ChannelPlanes
    let width: Int
    let blocksPerImage: Int

    init(_ planes: ChannelPlanes) {
        self.planes = planes
        width = max(min(planes.plane, 32_768 / max(planes.channels, 1)), min(planes.plane, 64), 1)
        blocksPerImage = (planes.plane + width - 1) / width
    }

    var count: Int { planes.batch * blocksPerImage }

    subscript(item: Int) -> Block {
        let (image, index) = item.quotientAndRemainder(dividingBy: blocksPerImage)
        let first = index * width
        return Block(image: image, first: first, width: min(width, planes.plane - first), planes: planes)
    }

    /// `into[p] = Σ_{c′ in window, 0 ≤ c′ < C} x[image, c′, first + p]²` for the block's positions,
    /// summed in `Float` over c′ in ascending order.
    @inline(__always)
    func sumOfSquares(_ x: UnsafePointer<Float>, _ block: Block, window: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        destination.update(repeating: 0, count: block.width)
        for other in window.clamped(to: 0..<planes.channels) {
            let row = x + block.start(other)
            for p in 0..<block.width { destination[p] += row[p] * row[p] }
        }
    }
}

extension LocalResponseNormOptions {
    /// window(c): the channels `c − ⌊size/2⌋ ..< c + ⌊(size−1)/2⌋ + 1` (not clipped).
    func window(of c: Int) -> Range<Int> { (c - size / 2)..<(c + (size - 1) / 2 + 1) }

    /// The channels c whose window contains j: `j − ⌊(size−1)/2⌋ ..< j + ⌊size/2⌋ + 1` (not clipped).
    func windows(containing j: Int) -> Range<Int> { (j - (size - 1) / 2)..<(j + size / 2 + 1) }
}
