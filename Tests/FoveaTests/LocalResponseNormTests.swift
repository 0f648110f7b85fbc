import Fovea
import FoveaTestSupport
import Testing

/// A local-response-norm configuration with seeded random operands.
struct LocalResponseNormCase: CustomStringConvertible {
    var input: Tensor
    var gradOutput: Tensor
    var options: LocalResponseNormOptions

    var description: String {
        "\(input.shape) size \(options.size) α \(options.alpha) β \(options.beta) k \(options.k)"
    }

    init(_ shape: Shape, _ options: LocalResponseNormOptions, spread: Float = 1, seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        input = Tensor.randomNormal(shape, standardDeviation: spread, using: &generator)
        gradOutput = Tensor.randomNormal(shape, using: &generator)
        self.options = options
    }

    /// Odd shapes, batch 1 and > 1, sizes 1–5 (even ones too) and windows wider than the
    /// channels, α large enough that the normalisation matters; plus PyTorch's defaults and
    /// AlexNet's parameters on wider tensors (several position blocks per image).
    static func randomized(count: Int, seed: UInt64) -> [LocalResponseNormCase] {
        var generator = SeededGenerator(seed: seed)
        func pick(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
        func pick(_ range: ClosedRange<Float>) -> Float { Float.random(in: range, using: &generator) }
        let random = (0..<count).map { index in
            let channels = pick(1...8)
            let size = index % 4 == 3 ? channels + pick(1...3) : pick(1...5)
            let options = LocalResponseNormOptions(size: size, alpha: pick(0.1...2), beta: pick(0.5...1), k: pick(0.5...2))
            return LocalResponseNormCase([pick(1...3), channels, pick(1...7), pick(1...7)], options, seed: seed &+ UInt64(index))
        }
        return random + [
            LocalResponseNormCase([2, 7, 5, 5], LocalResponseNormOptions(size: 5), spread: 30, seed: 301),
            LocalResponseNormCase([1, 96, 27, 27], LocalResponseNormOptions(size: 5, alpha: 1e-4, beta: 0.75, k: 2), spread: 50, seed: 302),
            LocalResponseNormCase([2, 600, 9, 9], LocalResponseNormOptions(size: 4, alpha: 1, beta: 0.75, k: 1), seed: 303),
        ]
    }
}

@Suite("Local response normalisation")
struct LocalResponseNormTests {
    static let cases = LocalResponseNormCase.randomized(count: 32, seed: 99)

    @Test(arguments: TestDevices.accelerated)
    func agreesWithNaive(device: LabeledDevice) {
        for c in Self.cases {
            let expected = TestDevices.naive.localResponseNormForward(input: c.input, options: c.options)
            let actual = device.device.localResponseNormForward(input: c.input, options: c.options)
            expectClose(actual, expected, absolute: 1e-5, relative: 1e-5, "\(device) forward \(c)")
            let expectedGradient = TestDevices.naive.localResponseNormBackward(gradOutput: c.gradOutput, input: c.input, options: c.options)
            let gradient = device.device.localResponseNormBackward(gradOutput: c.gradOutput, input: c.input, options: c.options)
            expectClose(gradient, expectedGradient, absolute: 1e-5, relative: 1e-4, "\(device) backward \(c)")
        }
    }

    /// Hand-computed at one position, x = (1, 2, 3) over three channels, k = 1, β = 1 and
    /// α = size (so α/size = 1): `s[c] = 1 + Σ_{window(c)} x²`, window(c) = `c − ⌊size/2⌋ …
    /// c + ⌊(size−1)/2⌋`. Size 2: windows {0}, {0,1}, {1,2} → s = 2, 6, 14. Size 4: {0,1},
    /// {0,1,2}, {0,1,2} → s = 6, 15, 15 (the divisor stays `size` where the window is clipped).
    /// Sizes 5 and 6 cover all three channels everywhere → s = 15.
    @Test(arguments: TestDevices.all)
    func windowsMatchHandComputation(device: LabeledDevice) {
        let input = Tensor(shape: [1, 3, 1, 1], scalars: [1, 2, 3])
        let expected: [Int: [Float]] = [
            1: [1.0 / 2, 2.0 / 5, 3.0 / 10],
            2: [1.0 / 2, 2.0 / 6, 3.0 / 14],
            3: [1.0 / 6, 2.0 / 15, 3.0 / 14],
            4: [1.0 / 6, 2.0 / 15, 3.0 / 15],
            5: [1.0 / 15, 2.0 / 15, 3.0 / 15],
            6: [1.0 / 15, 2.0 / 15, 3.0 / 15],
        ]
        for (size, values) in expected.sorted(by: { $0.key < $1.key }) {
            let options = LocalResponseNormOptions(size: size, alpha: Float(size), beta: 1, k: 1)
            let output = device.device.localResponseNormForward(input: input, options: options)
            expectClose(output, Tensor(shape: [1, 3, 1, 1], scalars: values), absolute: 1e-6, relative: 1e-6, "\(device) size \(size)")
        }
        // β = 1/2, k = 2, size 3, α 3: s = 2 + (5, 14, 13) = (7, 16, 15), y = x/√s.
        let rooted = device.device.localResponseNormForward(input: input, options: LocalResponseNormOptions(size: 3, alpha: 3, beta: 0.5, k: 2))
        expectClose(rooted, Tensor(shape: [1, 3, 1, 1], scalars: [1 / Float(7).squareRoot(), 0.5, 3 / Float(15).squareRoot()]),
                    absolute: 1e-6, relative: 1e-6, "\(device) β = 1/2")
    }

    /// Positions and images are normalised independently (size 2, α 2, β 1, k 1, so
    /// `s[c] = 1 + x[c−1]² + x[c]²`): image 0 holds x = (1, 2, 3) at w 0 and (−1, 0, 2) at w 1,
    /// image 1 holds zeros except x[0] = 1 at w 1.
    @Test(arguments: TestDevices.all)
    func positionsAndImagesAreIndependent(device: LabeledDevice) {
        let input = Tensor(shape: [2, 3, 1, 2], scalars: [1, -1, 2, 0, 3, 2, 0, 1, 0, 0, 0, 0])
        let output = device.device.localResponseNormForward(input: input, options: LocalResponseNormOptions(size: 2, alpha: 2, beta: 1, k: 1))
        let expected = Tensor(shape: [2, 3, 1, 2], scalars: [1.0 / 2, -1.0 / 2, 2.0 / 6, 0, 3.0 / 14, 2.0 / 5, 0, 1.0 / 2, 0, 0, 0, 0])
        expectClose(output, expected, absolute: 1e-6, relative: 1e-6, "\(device)")
    }

    @Test(arguments: TestDevices.all)
    func gradientMatchesFiniteDifferences(device: LabeledDevice) {
        let checker = GradientChecker(step: 1e-2, tolerance: 1e-2, floor: 5e-2, maxChecks: 48)
        let cases = [
            LocalResponseNormCase([2, 5, 3, 2], LocalResponseNormOptions(size: 3, alpha: 1, beta: 0.75, k: 1), seed: 41),
            LocalResponseNormCase([1, 6, 2, 3], LocalResponseNormOptions(size: 4, alpha: 2, beta: 0.6, k: 0.5), seed: 42),
            LocalResponseNormCase([2, 3, 2, 2], LocalResponseNormOptions(size: 5, alpha: 1.5, beta: 1, k: 2), seed: 43),
            LocalResponseNormCase([1, 4, 3, 3], LocalResponseNormOptions(size: 2, alpha: 1, beta: 0.75, k: 1), seed: 44),
            LocalResponseNormCase([1, 4, 2, 2], LocalResponseNormOptions(size: 1, alpha: 1, beta: 0.75, k: 1), seed: 45),
        ]
        for c in cases {
            let analytic = device.device.localResponseNormBackward(gradOutput: c.gradOutput, input: c.input, options: c.options)
            let failures = checker.check(at: c.input, analytic: analytic) { x in
                GradientChecker.projectedLoss(device.device.localResponseNormForward(input: x, options: c.options), c.gradOutput)
            }
            #expect(failures.isEmpty, "\(device) ∂L/∂x \(c): \(failures.prefix(3))")
        }
    }

    @Test func dispatchResultsIndependentOfThreadCount() throws {
        let devices = try [1, 2, 3, 4].map { try Devices.make("dispatch", threads: $0) }
        for c in Self.cases.suffix(6) {
            let forward = devices.map { $0.localResponseNormForward(input: c.input, options: c.options) }
            let backward = devices.map { $0.localResponseNormBackward(gradOutput: c.gradOutput, input: c.input, options: c.options) }
            for i in 1..<devices.count {
                expectIdentical(forward[i], forward[0], "forward at \(i + 1) threads \(c)")
                expectIdentical(backward[i], backward[0], "backward at \(i + 1) threads \(c)")
            }
        }
    }
}
