import Fovea
import FoveaTestSupport
import Testing

/// ReLU and leaky ReLU: by hand, against `naive`, across thread counts, and by finite differences.
@Suite("Activations")
struct ActivationTests {
    static let activations: [Activation] = [.relu, .leakyReLU(negativeSlope: 0.1)]
    /// Odd sizes, and one large enough (102 400 elements) to be split into several chunks.
    static let shapes: [Shape] = [[1], [3, 5], [2, 3, 7, 5], [2, 8, 80, 80]]

    /// x = [−2, −0.5, 0, 0.25, 3]: ReLU clips the negatives to 0, leaky ReLU scales them by 0.1;
    /// the derivative is 0 (ReLU) or the slope (leaky) at x ≤ 0, including the kink at 0.
    @Test(arguments: TestDevices.all)
    func byHand(device: LabeledDevice) {
        let x = Tensor(shape: [5], scalars: [-2, -0.5, 0, 0.25, 3])
        let dy = Tensor(shape: [5], scalars: [1, 2, 3, 4, 5])
        let d = device.device
        #expect(d.activationForward(.relu, input: x).scalars == [0, 0, 0, 0.25, 3])
        #expect(d.activationBackward(.relu, gradOutput: dy, input: x).scalars == [0, 0, 0, 4, 5])
        let leaky = Activation.leakyReLU(negativeSlope: 0.1)
        expectClose(d.activationForward(leaky, input: x), Tensor(shape: [5], scalars: [-0.2, -0.05, 0, 0.25, 3]),
                    absolute: 1e-7, relative: 1e-6, "\(device) leaky forward")
        expectClose(d.activationBackward(leaky, gradOutput: dy, input: x), Tensor(shape: [5], scalars: [0.1, 0.2, 0.3, 4, 5]),
                    absolute: 1e-7, relative: 1e-6, "\(device) leaky backward")
    }

    @Test(arguments: TestDevices.all)
    func nanPropagates(device: LabeledDevice) {
        let x = Tensor(shape: [3], scalars: [.nan, 1, -1])
        for activation in Self.activations {
            let y = device.device.activationForward(activation, input: x)
            #expect(y[flat: 0].isNaN && y[flat: 1] == 1, "\(device) \(activation): \(y)")
        }
    }

    /// Activations are exact (one comparison and at most one product), so every backend matches
    /// `naive` bit for bit.
    @Test(arguments: TestDevices.accelerated)
    func agreesWithNaive(device: LabeledDevice) {
        for (index, shape) in Self.shapes.enumerated() {
            let x = Tensor.randomNormal(shape, seed: UInt64(index))
            let dy = Tensor.randomNormal(shape, seed: UInt64(50 + index))
            for activation in Self.activations {
                expectIdentical(device.device.activationForward(activation, input: x),
                                TestDevices.naive.activationForward(activation, input: x), "\(device) \(activation) forward \(shape)")
                expectIdentical(device.device.activationBackward(activation, gradOutput: dy, input: x),
                                TestDevices.naive.activationBackward(activation, gradOutput: dy, input: x), "\(device) \(activation) backward \(shape)")
            }
        }
    }

    @Test func dispatchResultsIndependentOfThreadCount() throws {
        let devices = try [1, 2, 3, 4].map { try Devices.make("dispatch", threads: $0) }
        let x = Tensor.randomNormal(Self.shapes.last!, seed: 9)
        let dy = Tensor.randomNormal(Self.shapes.last!, seed: 10)
        for activation in Self.activations {
            let forward = devices.map { $0.activationForward(activation, input: x) }
            let backward = devices.map { $0.activationBackward(activation, gradOutput: dy, input: x) }
            for i in 1..<devices.count {
                expectIdentical(forward[i], forward[0], "\(activation) forward at \(i + 1) threads")
                expectIdentical(backward[i], backward[0], "\(activation) backward at \(i + 1) threads")
            }
        }
    }

    /// Inputs at least 0.05 (5 steps) from the kink at 0, so central differences never straddle it.
    @Test(arguments: TestDevices.all)
    func gradientsByFiniteDifferences(device: LabeledDevice) {
        let checker = GradientChecker(step: 1e-2, tolerance: 1e-2, floor: 1e-1, maxChecks: 64)
        var x = Tensor.randomNormal([2, 3, 5, 4], seed: 31)
        x.withUnsafeMutableBufferPointer { values in
            for i in values.indices { values[i] = values[i] < 0 ? values[i] - 0.05 : values[i] + 0.05 }
        }
        let dy = Tensor.randomNormal(x.shape, seed: 32)
        for activation in Self.activations {
            let analytic = device.device.activationBackward(activation, gradOutput: dy, input: x)
            let failures = checker.check(at: x, analytic: analytic) { x in
                GradientChecker.projectedLoss(device.device.activationForward(activation, input: x), dy)
            }
            #expect(failures.isEmpty, "\(device) \(activation): \(failures.prefix(3))")
        }
    }
}
