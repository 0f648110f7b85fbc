import Foundation
import Fovea
import FoveaTestSupport
import Testing

/// A softmax configuration: `[N, C]` logits and an output gradient, seeded.
struct SoftmaxCase: CustomStringConvertible {
    var logits: Tensor
    var gradOutput: Tensor
    var spread: Float

    var description: String { "\(logits.shape) spread \(spread)" }

    init(_ shape: Shape, spread: Float = 2, seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        logits = Tensor.randomNormal(shape, standardDeviation: spread, using: &generator)
        gradOutput = Tensor.randomNormal(shape, using: &generator)
        self.spread = spread
    }

    /// Batch 1 and > 1, one class (softmax ≡ 1), odd widths, logits spread from 0.5 to 20;
    /// plus a wide row and many short rows (several row blocks per call).
    static func randomized(count: Int, seed: UInt64) -> [SoftmaxCase] {
        var generator = SeededGenerator(seed: seed)
        func pick(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
        let random = (0..<count).map { index in
            SoftmaxCase([pick(1...9), pick(1...40)], spread: [0.5, 2, 5, 20][pick(0...3)], seed: seed &+ UInt64(index))
        }
        return random + [SoftmaxCase([1, 1], seed: 401), SoftmaxCase([3, 5000], seed: 402), SoftmaxCase([700, 10], spread: 4, seed: 403)]
    }
}

@Suite("Softmax and log-softmax")
struct SoftmaxTests {
    static let cases = SoftmaxCase.randomized(count: 30, seed: 123)

    @Test(arguments: TestDevices.accelerated)
    func agreesWithNaive(device: LabeledDevice) {
        for c in Self.cases {
            for log in [false, true] {
                let expected = TestDevices.naive.softmaxForward(logits: c.logits, log: log)
                let actual = device.device.softmaxForward(logits: c.logits, log: log)
                expectClose(actual, expected, absolute: 1e-6, relative: 1e-5, "\(device) forward log=\(log) \(c)")
                let expectedGradient = TestDevices.naive.softmaxBackward(gradOutput: c.gradOutput, output: expected, log: log)
                let gradient = device.device.softmaxBackward(gradOutput: c.gradOutput, output: expected, log: log)
                expectClose(gradient, expectedGradient, absolute: 1e-5, relative: 1e-5, "\(device) backward log=\(log) \(c)")
            }
        }
    }

    /// Every row of softmax is a probability distribution, and log-softmax is its logarithm.
    @Test(arguments: TestDevices.all)
    func rowsSumToOneAndLogSoftmaxIsLogOfSoftmax(device: LabeledDevice) {
        for c in Self.cases {
            let probabilities = device.device.softmaxForward(logits: c.logits, log: false)
            let (rows, columns) = (c.logits.shape[0], c.logits.shape[1])
            for row in 0..<rows {
                let values = (0..<columns).map { probabilities[row, $0] }
                #expect(values.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(device) \(c) row \(row)")
                let sum = values.reduce(0.0) { $0 + Double($1) }
                #expect(abs(sum - 1) < 1e-5, "\(device) \(c) row \(row) sums to \(sum)")
            }
            let logProbabilities = device.device.softmaxForward(logits: c.logits, log: true)
            // Where softmax underflows Float, log-softmax is still finite: compare those in Double.
            let logOfSoftmax = Tensor(shape: c.logits.shape, scalars: probabilities.scalars.map { Float(Foundation.log(Double($0))) })
            let finite = probabilities.scalars.indices.filter { probabilities[flat: $0] > 1e-30 }
            for index in finite where abs(logProbabilities[flat: index] - logOfSoftmax[flat: index]) > 1e-4 + 1e-5 * abs(logOfSoftmax[flat: index]) {
                Issue.record("\(device) \(c): log-softmax \(logProbabilities[flat: index]) vs log(softmax) \(logOfSoftmax[flat: index]) at \(index)")
                break
            }
            #expect(logProbabilities.scalars.allSatisfy { $0.isFinite && $0 <= 0 }, "\(device) \(c)")
        }
    }

    /// Logits of ±10⁴ (exp would overflow Float and Double alike without the max shift), and
    /// rows of equal huge values. Expected values from the definition, in Double:
    /// row (10⁴, 10⁴ − 1, −10⁴, 0) has softmax (1, e⁻¹, 0, 0)/(1 + e⁻¹).
    @Test(arguments: TestDevices.all)
    func stableForHugeLogits(device: LabeledDevice) {
        let logits = Tensor(shape: [4, 4], scalars: [
            1e4, 1e4 - 1, -1e4, 0,
            1e4, 1e4, 1e4, 1e4,
            -1e4, -1e4, -1e4, -1e4,
            -1e4, 1e4, -1e4, 1e4,
        ])
        let z = 1 + exp(-1.0)
        let expectedLog: [Double] = [
            -log(z), -1 - log(z), -2e4 - log(z), -1e4 - log(z),
            -log(4), -log(4), -log(4), -log(4),
            -log(4), -log(4), -log(4), -log(4),
            -2e4 - log(2), -log(2), -2e4 - log(2), -log(2),
        ]
        let probabilities = device.device.softmaxForward(logits: logits, log: false)
        let logProbabilities = device.device.softmaxForward(logits: logits, log: true)
        #expect(probabilities.scalars.allSatisfy { $0.isFinite } && logProbabilities.scalars.allSatisfy { $0.isFinite }, "\(device)")
        expectClose(probabilities, Tensor(shape: [4, 4], scalars: expectedLog.map { Float(exp($0)) }), absolute: 1e-6, relative: 1e-6, "\(device) softmax")
        expectClose(logProbabilities, Tensor(shape: [4, 4], scalars: expectedLog.map { Float($0) }), absolute: 1e-6, relative: 1e-6, "\(device) log-softmax")
        let gradient = device.device.softmaxBackward(gradOutput: Tensor(repeating: 1, shape: [4, 4]), output: probabilities, log: false)
        #expect(gradient.scalars.allSatisfy { $0.isFinite }, "\(device) softmax backward")
    }

    /// Adding a constant to a row changes neither softmax nor log-softmax.
    @Test(arguments: TestDevices.all)
    func invariantToAddingAConstantPerRow(device: LabeledDevice) {
        var generator = SeededGenerator(seed: 7)
        for c in Self.cases.prefix(12) {
            let (rows, columns) = (c.logits.shape[0], c.logits.shape[1])
            let constants = (0..<rows).map { _ in Float.random(in: -50...50, using: &generator) }
            var shifted = c.logits
            for row in 0..<rows {
                for column in 0..<columns { shifted[row, column] += constants[row] }
            }
            for log in [false, true] {
                let expected = device.device.softmaxForward(logits: c.logits, log: log)
                // Shifting by up to 50 rounds each logit by up to 2e-6, which moves the outputs by as much.
                expectClose(device.device.softmaxForward(logits: shifted, log: log), expected,
                            absolute: 2e-5, relative: 2e-5, "\(device) log=\(log) \(c)")
            }
        }
    }

    @Test(arguments: TestDevices.all)
    func gradientsMatchFiniteDifferences(device: LabeledDevice) {
        let checker = GradientChecker(step: 1e-2, tolerance: 1e-2, floor: 5e-2, maxChecks: 48)
        let cases = [SoftmaxCase([3, 7], seed: 51), SoftmaxCase([1, 12], spread: 4, seed: 52), SoftmaxCase([4, 2], seed: 53)]
        for c in cases {
            for log in [false, true] {
                let output = device.device.softmaxForward(logits: c.logits, log: log)
                let analytic = device.device.softmaxBackward(gradOutput: c.gradOutput, output: output, log: log)
                let failures = checker.check(at: c.logits, analytic: analytic) { z in
                    GradientChecker.projectedLoss(device.device.softmaxForward(logits: z, log: log), c.gradOutput)
                }
                #expect(failures.isEmpty, "\(device) log=\(log) \(c): \(failures.prefix(3))")
            }
        }
    }

    @Test func dispatchResultsIndependentOfThreadCount() throws {
        let devices = try [1, 2, 3, 4].map { try Devices.make("dispatch", threads: $0) }
        for c in Self.cases.suffix(4) {
            for log in [false, true] {
                let forward = devices.map { $0.softmaxForward(logits: c.logits, log: log) }
                let backward = devices.map { $0.softmaxBackward(gradOutput: c.gradOutput, output: forward[0], log: log) }
                for i in 1..<devices.count {
                    expectIdentical(forward[i], forward[0], "forward log=\(log) at \(i + 1) threads \(c)")
                    expectIdentical(backward[i], backward[0], "backward log=\(log) at \(i + 1) threads \(c)")
                }
            }
        }
    }
}
