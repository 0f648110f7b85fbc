import Fovea
import FoveaTestSupport
import Testing

/// A batch-norm configuration with seeded random operands.
struct BatchNormCase: CustomStringConvertible {
    var input: Tensor
    var scale: Tensor
    var shift: Tensor
    var gradOutput: Tensor
    var epsilon: Float
    var offset: Float

    var description: String { "\(input.shape) offset \(offset) ε \(epsilon)" }

    /// Input `N(offset, spread²)`; scale around 1 with some negative entries; shift `N(0, 1)`.
    init(_ shape: Shape, offset: Float = 0, spread: Float = 1, epsilon: Float = 1e-5, seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        input = Tensor.randomNormal(shape, mean: offset, standardDeviation: spread, using: &generator)
        scale = Tensor.randomNormal([shape[1]], mean: 0.5, standardDeviation: 1, using: &generator)
        shift = Tensor.randomNormal([shape[1]], using: &generator)
        gradOutput = Tensor.randomNormal(shape, using: &generator)
        self.epsilon = epsilon
        self.offset = offset
    }

    /// Odd sizes, batch 1 and > 1, spreads from 0.1 to 10, means far from zero, plus fixed
    /// corner cases: one value per channel (σ² = 0, so y = β), H = W = 1, a mean 10⁵ times
    /// the spread (where E[x²] − μ² would lose every digit), and planes longer than one of
    /// dispatch's 1024-value segments (2050 = 1024 + 1024 + 2 and 1089 = 1024 + 65 values).
    static func randomized(count: Int, seed: UInt64) -> [BatchNormCase] {
        var generator = SeededGenerator(seed: seed)
        func pick(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
        let random = (0..<count).map { index in
            let shape: Shape = [pick(1...4), pick(1...7), pick(1...9), pick(1...9)]
            let offset: Float = [0, 0, 3, -20][pick(0...3)]
            let spread: Float = [0.1, 1, 1, 10][pick(0...3)]
            return BatchNormCase(shape, offset: offset, spread: spread, seed: seed &+ UInt64(index))
        }
        return random + [
            BatchNormCase([1, 3, 1, 1], seed: 201),
            BatchNormCase([6, 5, 1, 1], seed: 202),
            BatchNormCase([2, 3, 7, 5], offset: 1000, spread: 0.01, epsilon: 1e-8, seed: 203),
            BatchNormCase([3, 16, 12, 12], epsilon: 1e-3, seed: 204),
            BatchNormCase([2, 3, 41, 50], offset: 3, seed: 205),
            BatchNormCase([3, 2, 33, 33], offset: -20, spread: 10, seed: 206),
        ]
    }
}

@Suite("Batch normalisation")
struct BatchNormTests {
    static let cases = BatchNormCase.randomized(count: 30, seed: 77)

    /// The training forward of `device` against naive's on `c`: output, mean, variance, 1/σ.
    /// Returns naive's statistics, for the passes that take them.
    static func expectTrainingAgreesWithNaive(_ device: LabeledDevice, _ c: BatchNormCase) -> BatchNormStatistics {
        let expected = TestDevices.naive.batchNormTraining(input: c.input, scale: c.scale, shift: c.shift, epsilon: c.epsilon)
        let actual = device.device.batchNormTraining(input: c.input, scale: c.scale, shift: c.shift, epsilon: c.epsilon)
        expectClose(actual.output, expected.output, absolute: 1e-5, relative: 1e-5, "\(device) training output \(c)")
        expectClose(actual.statistics.mean, expected.statistics.mean, absolute: 1e-6, relative: 1e-6, "\(device) mean \(c)")
        expectClose(actual.statistics.variance, expected.statistics.variance, absolute: 1e-6, relative: 1e-5, "\(device) variance \(c)")
        expectClose(actual.statistics.inverseStandardDeviation, expected.statistics.inverseStandardDeviation,
                    absolute: 1e-6, relative: 1e-5, "\(device) 1/σ \(c)")
        return expected.statistics
    }

    @Test(arguments: TestDevices.accelerated)
    func agreesWithNaive(device: LabeledDevice) {
        let naive = TestDevices.naive
        for c in Self.cases {
            let stats = Self.expectTrainingAgreesWithNaive(device, c)
            let inference = device.device.batchNormInference(
                input: c.input, scale: c.scale, shift: c.shift, runningMean: stats.mean, runningVariance: stats.variance, epsilon: c.epsilon)
            let expectedInference = naive.batchNormInference(
                input: c.input, scale: c.scale, shift: c.shift, runningMean: stats.mean, runningVariance: stats.variance, epsilon: c.epsilon)
            expectClose(inference, expectedInference, absolute: 1e-5, relative: 1e-5, "\(device) inference \(c)")

            let gradients = device.device.batchNormBackward(gradOutput: c.gradOutput, input: c.input, scale: c.scale, statistics: stats)
            let expectedGradients = naive.batchNormBackward(gradOutput: c.gradOutput, input: c.input, scale: c.scale, statistics: stats)
            expectClose(gradients.input, expectedGradients.input, absolute: 1e-4, relative: 1e-4, "\(device) ∂x \(c)")
            expectClose(gradients.scale, expectedGradients.scale, absolute: 1e-4, relative: 1e-5, "\(device) ∂γ \(c)")
            expectClose(gradients.shift, expectedGradients.shift, absolute: 1e-4, relative: 1e-5, "\(device) ∂β \(c)")
        }
    }

    /// 100,352 values per channel (ResNet's first batch norm at batch 8), with a mean 1000 times
    /// the spread and with a mean of zero: summed in Float, the statistics, the output and the
    /// gradients stay as close to naive's Double sums as on small inputs. (On dispatch the output
    /// and ∂x differ from naive by 1–2 units in the last place, ∂γ and ∂β by under 1e-6 relative.)
    @Test(arguments: TestDevices.accelerated)
    func largeChannelsAgreeWithNaive(device: LabeledDevice) {
        let naive = TestDevices.naive
        for c in [BatchNormCase([8, 2, 112, 112], offset: 1000, seed: 207), BatchNormCase([8, 2, 112, 112], seed: 208)] {
            let stats = Self.expectTrainingAgreesWithNaive(device, c)
            let gradients = device.device.batchNormBackward(gradOutput: c.gradOutput, input: c.input, scale: c.scale, statistics: stats)
            let expectedGradients = naive.batchNormBackward(gradOutput: c.gradOutput, input: c.input, scale: c.scale, statistics: stats)
            expectClose(gradients.input, expectedGradients.input, absolute: 1e-5, relative: 1e-4, "\(device) ∂x \(c)")
            // ∂γ and ∂β are sums of 10⁵ terms of size about 1 and of either sign: an error of 1e-3 is
            // 1e-8 of Σ|terms|.
            expectClose(gradients.scale, expectedGradients.scale, absolute: 1e-3, relative: 1e-5, "\(device) ∂γ \(c)")
            expectClose(gradients.shift, expectedGradients.shift, absolute: 1e-3, relative: 1e-5, "\(device) ∂β \(c)")
        }
    }

    /// From the definition: per channel, the output's mean is β and its (biased) standard
    /// deviation is |γ|·σ/√(σ² + ε); the statistics are the batch's mean and *biased* variance,
    /// all computed here in Double from the input.
    @Test(arguments: TestDevices.all)
    func trainingOutputHasShiftMeanAndScaledStandardDeviation(device: LabeledDevice) {
        for c in [BatchNormCase([4, 5, 3, 7], offset: 2, spread: 3, epsilon: 1e-3, seed: 5), BatchNormCase([2, 3, 2, 1], seed: 6)] {
            let result = device.device.batchNormTraining(input: c.input, scale: c.scale, shift: c.shift, epsilon: c.epsilon)
            let (n, channels, plane) = (c.input.shape[0], c.input.shape[1], c.input.shape[2] * c.input.shape[3])
            func values(_ t: Tensor, channel: Int) -> [Double] {
                (0..<n).flatMap { image in (0..<plane).map { Double(t[flat: (image * channels + channel) * plane + $0]) } }
            }
            for channel in 0..<channels {
                let (xMean, xVariance) = moments(values(c.input, channel: channel))
                let (yMean, yVariance) = moments(values(result.output, channel: channel))
                let gamma = Double(c.scale[channel])
                let expectedStd = abs(gamma) * (xVariance / (xVariance + Double(c.epsilon))).squareRoot()
                #expect(abs(yMean - Double(c.shift[channel])) < 1e-5, "\(device) \(c) channel \(channel): output mean \(yMean)")
                #expect(abs(yVariance.squareRoot() - expectedStd) < 1e-5 * max(1, expectedStd),
                        "\(device) \(c) channel \(channel): output std \(yVariance.squareRoot()), expected \(expectedStd)")
                #expect(abs(Double(result.statistics.mean[channel]) - xMean) < 1e-5 * max(1, abs(xMean)))
                #expect(abs(Double(result.statistics.variance[channel]) - xVariance) < 1e-5 * max(1, xVariance),
                        "\(device) \(c) channel \(channel): variance \(result.statistics.variance[channel]), biased \(xVariance)")
                let expectedInverse = 1 / (xVariance + Double(c.epsilon)).squareRoot()
                #expect(abs(Double(result.statistics.inverseStandardDeviation[channel]) - expectedInverse) < 1e-5 * expectedInverse)
            }
        }
    }

    /// Evaluation mode uses the running statistics, not the batch's:
    /// channel 0: γ 2, β 0.5, mean 1, variance 3, ε 1 → y = 2·(x − 1)/2 + 0.5 = x − 0.5;
    /// channel 1: γ −1, β 1, mean 2, variance 0, ε 1 → y = −(x − 2) + 1 = 3 − x.
    @Test(arguments: TestDevices.all)
    func inferenceUsesRunningStatistics(device: LabeledDevice) {
        let input = Tensor(shape: [2, 2, 1, 2], scalars: [1, 3, -2, 4, 0.5, 7, 10, 2])
        let output = device.device.batchNormInference(
            input: input, scale: Tensor(shape: [2], scalars: [2, -1]), shift: Tensor(shape: [2], scalars: [0.5, 1]),
            runningMean: Tensor(shape: [2], scalars: [1, 2]), runningVariance: Tensor(shape: [2], scalars: [3, 0]), epsilon: 1)
        let expected = Tensor(shape: [2, 2, 1, 2], scalars: [0.5, 2.5, 5, -1, 0, 6.5, -7, 1])
        expectClose(output, expected, absolute: 1e-6, relative: 1e-6, "\(device)")
    }

    /// With the batch's own statistics as running statistics, inference reproduces training.
    @Test(arguments: TestDevices.all)
    func inferenceWithBatchStatisticsMatchesTraining(device: LabeledDevice) {
        let c = BatchNormCase([3, 4, 5, 2], offset: 1, spread: 2, epsilon: 1e-4, seed: 8)
        let training = device.device.batchNormTraining(input: c.input, scale: c.scale, shift: c.shift, epsilon: c.epsilon)
        let inference = device.device.batchNormInference(
            input: c.input, scale: c.scale, shift: c.shift,
            runningMean: training.statistics.mean, runningVariance: training.statistics.variance, epsilon: c.epsilon)
        expectClose(inference, training.output, absolute: 1e-5, relative: 1e-5, "\(device)")
    }

    /// Gradients of `L = Σ batchNormTraining(x, γ, β).output · g` by central differences; every
    /// evaluation of L recomputes the batch statistics, as training does.
    @Test(arguments: TestDevices.all)
    func gradientsMatchFiniteDifferences(device: LabeledDevice) {
        // Float outputs of about 1 put ≈ 5e-5 of rounding noise into each central difference; the
        // floor keeps the tolerance (≥ 5e-4) well above it.
        let checker = GradientChecker(step: 1e-2, tolerance: 1e-2, floor: 5e-2, maxChecks: 48)
        let cases = [
            BatchNormCase([2, 3, 4, 5], seed: 31),
            BatchNormCase([1, 4, 5, 3], offset: 2, spread: 2, seed: 32),
            BatchNormCase([5, 2, 1, 1], epsilon: 1e-3, seed: 33),
        ]
        for c in cases {
            let d = device.device
            func loss(_ x: Tensor, _ scale: Tensor, _ shift: Tensor) -> Double {
                GradientChecker.projectedLoss(d.batchNormTraining(input: x, scale: scale, shift: shift, epsilon: c.epsilon).output, c.gradOutput)
            }
            let forward = d.batchNormTraining(input: c.input, scale: c.scale, shift: c.shift, epsilon: c.epsilon)
            let analytic = d.batchNormBackward(gradOutput: c.gradOutput, input: c.input, scale: c.scale, statistics: forward.statistics)
            let inputFailures = checker.check(at: c.input, analytic: analytic.input) { loss($0, c.scale, c.shift) }
            #expect(inputFailures.isEmpty, "\(device) ∂L/∂x \(c): \(inputFailures.prefix(3))")
            let scaleFailures = checker.check(at: c.scale, analytic: analytic.scale) { loss(c.input, $0, c.shift) }
            #expect(scaleFailures.isEmpty, "\(device) ∂L/∂γ \(c): \(scaleFailures.prefix(3))")
            let shiftFailures = checker.check(at: c.shift, analytic: analytic.shift) { loss(c.input, c.scale, $0) }
            #expect(shiftFailures.isEmpty, "\(device) ∂L/∂β \(c): \(shiftFailures.prefix(3))")
        }
    }

    /// Batch norm in training with a fused activation, forward and backward, is bit for bit the
    /// device's batch norm and activation one after the other (the backward's derivative read
    /// from the fused output, as a ReLU layer that keeps its output reads it).
    @Test(arguments: TestDevices.all)
    func fusedActivationIsTheComposition(device: LabeledDevice) {
        let d = device.device
        for c in Self.cases.suffix(5) {
            for activation in [Activation.relu, .leakyReLU(negativeSlope: 0.1)] {
                let fused = d.batchNormTraining(input: c.input, scale: c.scale, shift: c.shift, epsilon: c.epsilon, activation: activation)
                let plain = d.batchNormTraining(input: c.input, scale: c.scale, shift: c.shift, epsilon: c.epsilon)
                expectIdentical(fused.output, d.activationForward(activation, input: plain.output), "\(device) \(activation) output \(c)")
                expectIdentical(fused.statistics.mean, plain.statistics.mean, "\(device) \(activation) mean \(c)")
                expectIdentical(fused.statistics.variance, plain.statistics.variance, "\(device) \(activation) variance \(c)")
                expectIdentical(fused.statistics.inverseStandardDeviation, plain.statistics.inverseStandardDeviation,
                                "\(device) \(activation) 1/σ \(c)")
                let gradients = d.batchNormBackward(gradOutput: c.gradOutput, input: c.input, scale: c.scale, statistics: fused.statistics,
                                                    activation: activation, output: fused.output)
                let masked = d.activationBackward(activation, gradOutput: c.gradOutput, input: fused.output)
                let expected = d.batchNormBackward(gradOutput: masked, input: c.input, scale: c.scale, statistics: fused.statistics)
                expectIdentical(gradients.input, expected.input, "\(device) \(activation) ∂x \(c)")
                expectIdentical(gradients.scale, expected.scale, "\(device) \(activation) ∂γ \(c)")
                expectIdentical(gradients.shift, expected.shift, "\(device) \(activation) ∂β \(c)")
            }
        }
    }

    /// Batch norm in training with a residual added and an activation applied in the same pass is
    /// bit for bit the device's batch norm, add and activation one after the other, with the
    /// same statistics, and its backward the activation's backward (∂r) then the batch norm's;
    /// the forward agrees with naive at 1–4 threads on Dispatch.
    @Test(arguments: TestDevices.all)
    func fusedResidualIsTheComposition(device: LabeledDevice) throws {
        let d = device.device
        for (index, c) in Self.cases.suffix(5).enumerated() {
            let residual = Tensor.randomNormal(c.input.shape, seed: UInt64(40 + index))
            for activation in [Activation.relu, .leakyReLU(negativeSlope: 0.1)] {
                let fused = d.batchNormTraining(input: c.input, scale: c.scale, shift: c.shift, epsilon: c.epsilon, activation: activation,
                                                residual: residual)
                let plain = d.batchNormTraining(input: c.input, scale: c.scale, shift: c.shift, epsilon: c.epsilon)
                let expected = d.activationForward(activation, input: d.add(plain.output, residual))
                expectIdentical(fused.output, expected, "\(device) \(activation) output \(c)")
                expectIdentical(fused.statistics.mean, plain.statistics.mean, "\(device) \(activation) mean \(c)")
                expectIdentical(fused.statistics.variance, plain.statistics.variance, "\(device) \(activation) variance \(c)")
                expectIdentical(fused.statistics.inverseStandardDeviation, plain.statistics.inverseStandardDeviation,
                                "\(device) \(activation) 1/σ \(c)")
                let gradients = d.batchNormResidualBackward(gradOutput: c.gradOutput, input: c.input, scale: c.scale,
                                                            statistics: fused.statistics, activation: activation, output: fused.output)
                let masked = d.activationBackward(activation, gradOutput: c.gradOutput, input: fused.output)
                let unfused = d.batchNormBackward(gradOutput: masked, input: c.input, scale: c.scale, statistics: fused.statistics)
                expectIdentical(gradients.residual, masked, "\(device) \(activation) ∂r \(c)")
                expectIdentical(gradients.normalization.input, unfused.input, "\(device) \(activation) ∂x \(c)")
                expectIdentical(gradients.normalization.scale, unfused.scale, "\(device) \(activation) ∂γ \(c)")
                expectIdentical(gradients.normalization.shift, unfused.shift, "\(device) \(activation) ∂β \(c)")
            }
            let reference = TestDevices.naive.batchNormTraining(input: c.input, scale: c.scale, shift: c.shift, epsilon: c.epsilon,
                                                                activation: .relu, residual: residual)
            for threads in 1...4 {
                let dispatch = try Devices.make("dispatch", threads: threads)
                let result = dispatch.batchNormTraining(input: c.input, scale: c.scale, shift: c.shift, epsilon: c.epsilon,
                                                        activation: .relu, residual: residual)
                expectClose(result.output, reference.output, absolute: 1e-4, relative: 1e-4, "dispatch at \(threads) threads vs naive \(c)")
            }
        }
    }

    /// Every channel's sums run in one fixed order on one worker: 1–4 threads give identical bits.
    @Test func dispatchResultsIndependentOfThreadCount() throws {
        let devices = try [1, 2, 3, 4].map { try Devices.make("dispatch", threads: $0) }
        for c in Self.cases.suffix(6) {
            let results = devices.map { $0.batchNormTraining(input: c.input, scale: c.scale, shift: c.shift, epsilon: c.epsilon) }
            let stats = results[0].statistics
            let gradients = devices.map { $0.batchNormBackward(gradOutput: c.gradOutput, input: c.input, scale: c.scale, statistics: stats) }
            let inference = devices.map {
                $0.batchNormInference(input: c.input, scale: c.scale, shift: c.shift, runningMean: stats.mean, runningVariance: stats.variance, epsilon: c.epsilon)
            }
            for i in 1..<devices.count {
                expectIdentical(results[i].output, results[0].output, "output at \(i + 1) threads \(c)")
                expectIdentical(results[i].statistics.variance, stats.variance, "variance at \(i + 1) threads \(c)")
                expectIdentical(gradients[i].input, gradients[0].input, "∂x at \(i + 1) threads \(c)")
                expectIdentical(gradients[i].scale, gradients[0].scale, "∂γ at \(i + 1) threads \(c)")
                expectIdentical(inference[i], inference[0], "inference at \(i + 1) threads \(c)")
            }
        }
    }
}

/// Mean and biased variance (divided by the count), in Double, two passes.
private func moments(_ values: [Double]) -> (mean: Double, variance: Double) {
    let mean = values.reduce(0, +) / Double(values.count)
    let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
    return (mean, variance)
}
