import Fovea
import FoveaTestSupport
import Testing

/// A fully connected layer's operands: input `[N, I]`, weight `[O, I]`, bias `[O]`, and an
/// output gradient `[N, O]`, seeded.
struct LinearCase: CustomStringConvertible {
    var input: Tensor
    var weight: Tensor
    var bias: Tensor
    var gradOutput: Tensor

    var description: String { "\(input.shape[0])×\(input.shape[1]) → \(weight.shape[0])" }

    init(batch: Int, features: Int, outputs: Int, seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        input = Tensor.randomNormal([batch, features], using: &generator)
        weight = Tensor.randomNormal([outputs, features], standardDeviation: 0.5, using: &generator)
        bias = Tensor.randomNormal([outputs], using: &generator)
        gradOutput = Tensor.randomNormal([batch, outputs], using: &generator)
    }

    /// Odd sizes, batch 1 and > 1, one feature or one output; plus shapes large enough
    /// (≥ 2·10⁶ multiply-adds) that `ParallelGEMM` splits every product over workers, wide and tall.
    static func randomized(count: Int, seed: UInt64) -> [LinearCase] {
        var generator = SeededGenerator(seed: seed)
        func pick(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
        let random = (0..<count).map { index in
            LinearCase(batch: pick(1...9), features: pick(1...40), outputs: pick(1...40), seed: seed &+ UInt64(index))
        }
        return random + [
            LinearCase(batch: 1, features: 1, outputs: 1, seed: 501),
            LinearCase(batch: 64, features: 300, outputs: 200, seed: 502),
            LinearCase(batch: 200, features: 150, outputs: 70, seed: 503),
        ]
    }
}

@Suite("Linear (composed from each device's GEMM)")
struct LinearTests {
    static let cases = LinearCase.randomized(count: 24, seed: 321)

    @Test(arguments: TestDevices.accelerated)
    func agreesWithNaive(device: LabeledDevice) {
        let naive = TestDevices.naive
        for c in Self.cases {
            let tolerance: Float = 1e-4 * Float(c.input.shape[1]).squareRoot()
            expectClose(device.device.linearForward(input: c.input, weight: c.weight, bias: c.bias),
                        naive.linearForward(input: c.input, weight: c.weight, bias: c.bias),
                        absolute: tolerance, relative: 1e-4, "\(device) forward \(c)")
            expectClose(device.device.linearForward(input: c.input, weight: c.weight, bias: nil),
                        naive.linearForward(input: c.input, weight: c.weight, bias: nil),
                        absolute: tolerance, relative: 1e-4, "\(device) forward without bias \(c)")
            let expected = naive.linearBackward(gradOutput: c.gradOutput, input: c.input, weight: c.weight, needsInputGradient: true)
            let actual = device.device.linearBackward(gradOutput: c.gradOutput, input: c.input, weight: c.weight, needsInputGradient: true)
            let batchTolerance: Float = 1e-4 * Float(c.input.shape[0]).squareRoot()
            if let input = actual.input, let expectedInput = expected.input {
                expectClose(input, expectedInput, absolute: 1e-4 * Float(c.weight.shape[0]).squareRoot(), relative: 1e-4, "\(device) ∂x \(c)")
            } else {
                Issue.record("\(device) \(c): no input gradient although it was asked for")
            }
            expectClose(actual.weight, expected.weight, absolute: batchTolerance, relative: 1e-4, "\(device) ∂W \(c)")
            expectClose(actual.bias, expected.bias, absolute: batchTolerance, relative: 1e-4, "\(device) ∂b \(c)")
        }
    }

    /// `y[n, o] = b[o] + Σ_i x[n, i]·W[o, i]`, by hand: x = [[1, 2], [−1, 0.5]],
    /// W = [[1, 0], [2, −1], [0.5, 3]], b = (0.25, 0, −1).
    @Test(arguments: TestDevices.all)
    func matchesHandComputation(device: LabeledDevice) {
        let x = Tensor(shape: [2, 2], scalars: [1, 2, -1, 0.5])
        let w = Tensor(shape: [3, 2], scalars: [1, 0, 2, -1, 0.5, 3])
        let b = Tensor(shape: [3], scalars: [0.25, 0, -1])
        expectClose(device.device.linearForward(input: x, weight: w, bias: b),
                    Tensor(shape: [2, 3], scalars: [1.25, 0, 5.5, -0.75, -2.5, 0]), absolute: 1e-6, relative: 1e-6, "\(device)")
        expectClose(device.device.linearForward(input: x, weight: w, bias: nil),
                    Tensor(shape: [2, 3], scalars: [1, 0, 6.5, -1, -2.5, 1]), absolute: 1e-6, relative: 1e-6, "\(device) without bias")
        // ∂y = [[1, 0, −1], [2, 1, 0]]: ∂x = ∂y·W, ∂W = ∂yᵀ·x, ∂b = column sums of ∂y.
        let dy = Tensor(shape: [2, 3], scalars: [1, 0, -1, 2, 1, 0])
        let gradients = device.device.linearBackward(gradOutput: dy, input: x, weight: w, needsInputGradient: true)
        if let input = gradients.input {
            expectClose(input, Tensor(shape: [2, 2], scalars: [0.5, -3, 4, -1]), absolute: 1e-6, relative: 1e-6, "\(device) ∂x")
        } else {
            Issue.record("\(device): no input gradient although it was asked for")
        }
        expectClose(gradients.weight, Tensor(shape: [3, 2], scalars: [-1, 3, -1, 0.5, -1, -2]), absolute: 1e-6, relative: 1e-6, "\(device) ∂W")
        expectClose(gradients.bias, Tensor(shape: [3], scalars: [3, 1, -1]), absolute: 1e-6, relative: 1e-6, "\(device) ∂b")
    }

    /// Without `needsInputGradient` there is no input gradient, and the others are unchanged.
    @Test(arguments: TestDevices.all)
    func inputGradientOnlyWhenAsked(device: LabeledDevice) {
        let c = Self.cases[3]
        let without = device.device.linearBackward(gradOutput: c.gradOutput, input: c.input, weight: c.weight, needsInputGradient: false)
        let with = device.device.linearBackward(gradOutput: c.gradOutput, input: c.input, weight: c.weight, needsInputGradient: true)
        #expect(without.input == nil, "\(device)")
        expectIdentical(without.weight, with.weight, "\(device) ∂W")
        expectIdentical(without.bias, with.bias, "\(device) ∂b")
    }

    @Test(arguments: TestDevices.all)
    func gradientsMatchFiniteDifferences(device: LabeledDevice) {
        let checker = GradientChecker(step: 1e-2, tolerance: 1e-2, floor: 5e-2, maxChecks: 48)
        let d = device.device
        for c in [LinearCase(batch: 3, features: 7, outputs: 5, seed: 61), LinearCase(batch: 1, features: 4, outputs: 9, seed: 62)] {
            let analytic = d.linearBackward(gradOutput: c.gradOutput, input: c.input, weight: c.weight, needsInputGradient: true)
            func loss(_ x: Tensor, _ w: Tensor, _ b: Tensor) -> Double {
                GradientChecker.projectedLoss(d.linearForward(input: x, weight: w, bias: b), c.gradOutput)
            }
            let inputFailures = checker.check(at: c.input, analytic: analytic.input ?? Tensor(zeros: c.input.shape)) { loss($0, c.weight, c.bias) }
            #expect(inputFailures.isEmpty, "\(device) ∂L/∂x \(c): \(inputFailures.prefix(3))")
            let weightFailures = checker.check(at: c.weight, analytic: analytic.weight) { loss(c.input, $0, c.bias) }
            #expect(weightFailures.isEmpty, "\(device) ∂L/∂W \(c): \(weightFailures.prefix(3))")
            let biasFailures = checker.check(at: c.bias, analytic: analytic.bias) { loss(c.input, c.weight, $0) }
            #expect(biasFailures.isEmpty, "\(device) ∂L/∂b \(c): \(biasFailures.prefix(3))")
        }
    }
}
