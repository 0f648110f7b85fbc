import Foundation
import FoveaCore

/// Batch normalisation on GCD workers. Training mode and its backward sum over each channel's
/// values in `Float` SIMD over the fixed segments of `ChannelSegments` (per-segment partials
/// added in `Double` in segment order), parallel over channels, or over runs of segments when
/// there are few channels (`SegmentSplit`); so the results are bit-identical at any thread count.
/// Inference is parallel over the (n, c) planes.
extension DispatchDevice {
    /// `μ = Σ x / M`, `σ² = Σ (x − μ)² / M`, `y = γ·(x − μ)/√(σ² + ε) + β` per channel,
    /// M = N·H·W. Input `[N, C, H, W]`; the statistics are `[C]`.
    public func batchNormTraining(input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float) -> BatchNormTrainingResult {
        batchNormTraining(input: input, scale: scale, shift: shift, epsilon: epsilon, activation: nil)
    }

    /// The same, with `activation` applied to each value before it is stored (BN → ReLU fused).
    public func batchNormTraining(input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float, activation: Activation) -> BatchNormTrainingResult {
        batchNormTraining(input: input, scale: scale, shift: shift, epsilon: epsilon, activation: Optional(activation))
    }

    /// The same with `residual` added before the activation (a residual block's bn3 + add + ReLU).
    public func batchNormTraining(input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float, activation: Activation,
                                  residual: Tensor) -> BatchNormTrainingResult {
        batchNormTraining(input: input, scale: scale, shift: shift, epsilon: epsilon, activation: Optional(activation), residual: residual)
    }

    /// Three steps over each channel's segments, in `Float`, 16 lanes at a time:
    /// 1. `μ₀ = Σ x / M`, rounded to `Float`;
    /// 2. `S₁ = Σ (x − μ₀)`, `S₂ = Σ (x − μ₀)²`, then (in `Double`) `δ = S₁/M`, `μ = μ₀ + δ`,
    ///    `σ² = (S₂ − S₁·δ)/M` (the corrected two-pass formula: δ removes the rounding of μ₀, and
    ///    nothing cancels, so a mean 10⁵ times the spread costs no digits);
    /// 3. `y = f(((x − μ₀) − δ)·a + β)` with `a = γ/√(σ² + ε)`, f the activation or nothing; with a
    ///    `residual` r, `y = f((((x − μ₀) − δ)·a + β) + r)`.
    private func batchNormTraining(input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float, activation: Activation?,
                                   residual: Tensor? = nil) -> BatchNormTrainingResult {
        let segments = ChannelSegments(ChannelPlanes(input.shape))
        let split = SegmentSplit(segments, threads: threadCount)
        let (channels, perChannel) = (segments.planes.channels, segments.perChannel)
        let count = Double(segments.planes.valuesPerChannel)
        let (gamma, beta) = (scale.scalars, shift.scalars)
        var output = Tensor(uninitialized: input.shape)  // step 3 writes every element
        if let residual { ElementwiseShapes.checkEqual(input.shape, residual.shape, operation: "batchNormTraining (residual)") }
        // Two Double partial sums per segment (step 1 uses the first); per channel c: [6c] μ₀,
        // [6c + 1] δ, [6c + 2] a, [6c + 3] μ, [6c + 4] σ², [6c + 5] 1/√(σ² + ε).
        var partials = [Double](repeating: 0, count: 2 * channels * perChannel)
        var state = [Float](repeating: 0, count: 6 * channels)
        input.withUnsafeBufferPointer { xBuffer in
            Tensor.withOptionalPointer(residual) { residualPointer in
                output.withUnsafeMutableBufferPointer { yBuffer in
                    partials.withUnsafeMutableBufferPointer { partialBuffer in
                        state.withUnsafeMutableBufferPointer { stateBuffer in
                            let x = SendablePointer(xBuffer.baseAddress!), y = SendablePointer(yBuffer.baseAddress!)
                            let r = residualPointer.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
                            let partial = SendablePointer(partialBuffer.baseAddress!), state = SendablePointer(stateBuffer.baseAddress!)
                            let mean = SegmentSplit.Step(segments: { run, range in
                                for s in range {
                                    for c in run {
                                        let (start, n) = segments.segment(channel: c, s)
                                        partial.pointer[2 * (c * perChannel + s)] = Double(SegmentKernels.sum(x.pointer + start, count: n))
                                    }
                                }
                            }, channel: { c in
                                var sum: Double = 0
                                for s in 0..<perChannel { sum += partial.pointer[2 * (c * perChannel + s)] }
                                state.pointer[6 * c] = Float(sum / count)
                            })
                            let variance = SegmentSplit.Step(segments: { run, range in
                                for s in range {
                                    for c in run {
                                        let (start, n) = segments.segment(channel: c, s)
                                        let (s1, s2) = SegmentKernels.deviationSums(x.pointer + start, count: n, shift: state.pointer[6 * c])
                                        partial.pointer[2 * (c * perChannel + s)] = Double(s1)
                                        partial.pointer[2 * (c * perChannel + s) + 1] = Double(s2)
                                    }
                                }
                            }, channel: { c in
                                let (s1, s2) = Self.pairSums(partial.pointer, channel: c, perChannel: perChannel)
                                let correction = s1 / count
                                let variance = max(0, (s2 - s1 * correction) / count)
                                let invStd = 1 / (variance + Double(epsilon)).squareRoot()
                                let moments = state.pointer + 6 * c
                                moments[3] = Float(Double(moments[0]) + correction)
                                moments[1] = Float(correction)
                                moments[2] = Float(Double(gamma[c]) * invStd)
                                moments[4] = Float(variance)
                                moments[5] = Float(invStd)
                            })
                            let normalize = SegmentSplit.Step(segments: { run, range in
                                for s in range {
                                    for c in run {
                                        let moments = state.pointer + 6 * c
                                        let (shift, correction, a, b) = (moments[0], moments[1], moments[2], beta[c])
                                        let (start, n) = segments.segment(channel: c, s)
                                        let (xs, ys) = (x.pointer + start, y.pointer + start)
                                        // f applied to each normalised value, with the residual added first when there is one.
                                        @inline(__always) func store(_ finish: (SegmentKernels.Vector) -> SegmentKernels.Vector) {
                                            if let r {
                                                SegmentKernels.normalize(xs, adding: r.pointer + start, ys, count: n, shift: shift, correction: correction,
                                                                         a, b, finish)
                                            } else {
                                                SegmentKernels.normalize(xs, ys, count: n, shift: shift, correction: correction, a, b, finish)
                                            }
                                        }
                                        switch activation {
                                        case nil: store { $0 }
                                        case .relu: store { $0.replacing(with: 0, where: $0 .< 0) }
                                        case .leakyReLU(let slope): store { $0.replacing(with: $0 * slope, where: $0 .<= 0) }
                                        }
                                    }
                                }
                            }, channel: nil)
                            split.run([mean, variance, normalize])
                        }
                    }
                }
            }
        }
        func tensor(_ offset: Int) -> Tensor { Tensor(shape: [channels], scalars: (0..<channels).map { state[6 * $0 + offset] }) }
        let statistics = BatchNormStatistics(mean: tensor(3), variance: tensor(4), inverseStandardDeviation: tensor(5))
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
        precondition(coefficients.channels == planes.channels,
                     "batchNormInference: \(coefficients.channels) channels of coefficients for an input of \(planes.channels)")
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
    /// `∂x = γ·invStd/M · (M·∂y − ∂β − x̂·∂γ)`.
    public func batchNormBackward(gradOutput: Tensor, input: Tensor, scale: Tensor, statistics: BatchNormStatistics) -> BatchNormGradients {
        batchNormBackward(gradOutput: gradOutput, input: input, scale: scale, statistics: statistics, activation: nil)
    }

    /// The same with ∂y first multiplied by the activation's derivative read from `output`, the
    /// fused forward's output (`output > 0 ? 1 : slope`, as `activationBackward` computes it).
    public func batchNormBackward(gradOutput: Tensor, input: Tensor, scale: Tensor, statistics: BatchNormStatistics,
                                  activation: Activation, output: Tensor) -> BatchNormGradients {
        batchNormBackward(gradOutput: gradOutput, input: input, scale: scale, statistics: statistics, activation: (activation, output))
    }

    /// The fused backward with g kept as the residual's gradient (step 1 stores it in its own
    /// tensor instead of in ∂x).
    public func batchNormResidualBackward(gradOutput: Tensor, input: Tensor, scale: Tensor, statistics: BatchNormStatistics,
                                          activation: Activation, output: Tensor) -> BatchNormResidualGradients {
        var residual: Tensor? = Tensor(uninitialized: input.shape)  // step 1 writes every element
        let gradients = batchNormBackward(gradOutput: gradOutput, input: input, scale: scale, statistics: statistics,
                                          activation: (activation, output), keeping: &residual)
        return BatchNormResidualGradients(normalization: gradients, residual: residual!)
    }

    /// Two steps over each channel's segments, in `Float`, 16 lanes at a time, with g = ∂y (when
    /// fused, g = ∂y times the activation's derivative, stored by step 1 in ∂x, or in `kept` when
    /// given, and read back by step 2, so step 2 reads two tensors as without an activation):
    /// 1. `Σ g` and `Σ g·(x − μ)`, then (in `Double`) `∂β = Σ g`, `∂γ = invStd·Σ g·(x − μ)`;
    /// 2. `∂x = a·((g − b) − (x − μ)·c)` with `a = γ·invStd`, `b = ∂β/M`, `c = invStd·∂γ/M`.
    private func batchNormBackward(gradOutput: Tensor, input: Tensor, scale: Tensor, statistics: BatchNormStatistics,
                                   activation: (Activation, Tensor)?) -> BatchNormGradients {
        var none: Tensor?
        return batchNormBackward(gradOutput: gradOutput, input: input, scale: scale, statistics: statistics, activation: activation,
                                 keeping: &none)
    }

    private func batchNormBackward(gradOutput: Tensor, input: Tensor, scale: Tensor, statistics: BatchNormStatistics,
                                   activation: (Activation, Tensor)?, keeping kept: inout Tensor?) -> BatchNormGradients {
        let segments = ChannelSegments(ChannelPlanes(input.shape))
        let split = SegmentSplit(segments, threads: threadCount)
        let (channels, perChannel) = (segments.planes.channels, segments.perChannel)
        let count = Double(segments.planes.valuesPerChannel)
        let (gamma, means, invStds) = (scale.scalars, statistics.mean.scalars, statistics.inverseStandardDeviation.scalars)
        let slope: Float? = activation.map {
            switch $0.0 {
            case .relu: 0
            case .leakyReLU(let slope): slope
            }
        }
        let activationOutput = activation?.1 ?? input  // read only when slope != nil
        var gradInput = Tensor(uninitialized: input.shape)  // step 2 writes every element
        // Two Double partial sums per segment; per channel c: [5c] ∂γ, [5c + 1] ∂β, [5c + 2] a,
        // [5c + 3] b, [5c + 4] c.
        var partials = [Double](repeating: 0, count: 2 * channels * perChannel)
        var state = [Float](repeating: 0, count: 5 * channels)
        gradOutput.withUnsafeBufferPointer { dyBuffer in
            input.withUnsafeBufferPointer { xBuffer in
                activationOutput.withUnsafeBufferPointer { outputBuffer in
                    gradInput.withUnsafeMutableBufferPointer { dxBuffer in
                        Tensor.withOptionalMutablePointer(&kept) { keptPointer in
                            partials.withUnsafeMutableBufferPointer { partialBuffer in
                                state.withUnsafeMutableBufferPointer { stateBuffer in
                                    // Where step 1 stores g: `kept`, or ∂x (which step 2 then overwrites).
                                    let g = SendablePointer(keptPointer ?? dxBuffer.baseAddress!)
                                    let dy = SendablePointer(dyBuffer.baseAddress!), x = SendablePointer(xBuffer.baseAddress!)
                                    let y = SendablePointer(outputBuffer.baseAddress!), dx = SendablePointer(dxBuffer.baseAddress!)
                                    let partial = SendablePointer(partialBuffer.baseAddress!), state = SendablePointer(stateBuffer.baseAddress!)
                                    let sums = SegmentSplit.Step(segments: { run, range in
                                        for s in range {
                                            for c in run {
                                                let (start, n) = segments.segment(channel: c, s)
                                                let (dys, xs) = (dy.pointer + start, x.pointer + start)
                                                let (s1, s2) = if let slope {
                                                    SegmentKernels.maskedGradientSums(dys, output: y.pointer + start, slope: slope,
                                                                                      into: g.pointer + start, xs, count: n, mean: means[c])
                                                } else {
                                                    SegmentKernels.gradientSums(dys, xs, count: n, mean: means[c])
                                                }
                                                partial.pointer[2 * (c * perChannel + s)] = Double(s1)
                                                partial.pointer[2 * (c * perChannel + s) + 1] = Double(s2)
                                            }
                                        }
                                    }, channel: { c in
                                        let (s1, s2) = Self.pairSums(partial.pointer, channel: c, perChannel: perChannel)
                                        let invStd = Double(invStds[c])
                                        let dGamma = s2 * invStd
                                        let coefficients = state.pointer + 5 * c
                                        coefficients[0] = Float(dGamma)
                                        coefficients[1] = Float(s1)
                                        coefficients[2] = Float(Double(gamma[c]) * invStd)
                                        coefficients[3] = Float(s1 / count)
                                        coefficients[4] = Float(invStd * dGamma / count)
                                    })
                                    let gradient = SegmentSplit.Step(segments: { run, range in
                                        for s in range {
                                            for c in run {
                                                let coefficients = state.pointer + 5 * c
                                                let (start, n) = segments.segment(channel: c, s)
                                                let gs = slope == nil ? dy.pointer + start : g.pointer + start
                                                SegmentKernels.inputGradient(gs, x.pointer + start, dx.pointer + start, count: n, mean: means[c],
                                                                             coefficients[2], coefficients[3], coefficients[4])
                                            }
                                        }
                                    }, channel: nil)
                                    split.run([sums, gradient])
                                }
                            }
                        }
                    }
                }
            }
        }
        return BatchNormGradients(
            input: gradInput,
            scale: Tensor(shape: [channels], scalars: (0..<channels).map { state[5 * $0] }),
            shift: Tensor(shape: [channels], scalars: (0..<channels).map { state[5 * $0 + 1] }))
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

extension DispatchDevice {
    /// The two partial sums of every segment of channel `c`, added in segment order (Double):
    /// `partial[2·(c·perChannel + s)]` and the one after it, `s < perChannel`.
    @inline(__always)
    static func pairSums(_ partial: UnsafeMutablePointer<Double>, channel c: Int, perChannel: Int) -> (Double, Double) {
        var (s1, s2): (Double, Double) = (0, 0)
        for s in 0..<perChannel {
            s1 += partial[2 * (c * perChannel + s)]
            s2 += partial[2 * (c * perChannel + s) + 1]
        }
        return (s1, s2)
    }
}
