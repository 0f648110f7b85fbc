import Fovea
import FoveaTestSupport
import Testing

/// Every convolution backward pass on every backend is checked against central finite
/// differences of the projected loss `L = Σ conv(x, w, b) · g`.
@Suite("Convolution gradients by finite differences")
struct GradientCheckTests {
    static let cases: [ConvCase] = [
        try! ConvCase(input: [2, 3, 7, 6], weight: [4, 3, 3, 2], options: Conv2DOptions(stride: Size2D(height: 2, width: 1), padding: 1), seed: 11),
        try! ConvCase(input: [1, 4, 8, 8], weight: [4, 2, 3, 3], options: Conv2DOptions(padding: 2, dilation: 2, groups: 2), seed: 12),
        try! ConvCase(input: [2, 3, 5, 7], weight: [3, 1, 2, 3], options: Conv2DOptions(stride: 3, padding: Size2D(height: 0, width: 3), groups: 3), seed: 13),
        try! ConvCase(input: [2, 5, 4, 4], weight: [3, 5, 1, 1], options: Conv2DOptions(), seed: 14),
        // 3×3 stride 1: the Winograd devices of TestDevices take these (padding 1 and 0).
        try! ConvCase(input: [2, 3, 9, 7], weight: [4, 3, 3, 3], options: Conv2DOptions(padding: 1), seed: 15),
        try! ConvCase(input: [1, 2, 6, 5], weight: [3, 2, 3, 3], options: Conv2DOptions(), seed: 16),
    ]
    let checker = GradientChecker(step: 1e-2, tolerance: 2e-2, floor: 1e-1, maxChecks: 48)

    @Test(arguments: TestDevices.all)
    func inputGradient(device: LabeledDevice) {
        for c in Self.cases {
            let analytic = device.device.conv2dBackwardData(gradOutput: c.gradOutput, weight: c.weight, geometry: c.geometry)
            let failures = checker.check(at: c.input, analytic: analytic) { x in
                GradientChecker.projectedLoss(device.device.conv2dForward(input: x, weight: c.weight, bias: c.bias, geometry: c.geometry), c.gradOutput)
            }
            #expect(failures.isEmpty, "\(device) ∂L/∂x \(c): \(failures.prefix(3))")
        }
    }

    @Test(arguments: TestDevices.all)
    func weightAndBiasGradients(device: LabeledDevice) {
        for c in Self.cases {
            let analytic = device.device.conv2dBackwardFilter(gradOutput: c.gradOutput, input: c.input, geometry: c.geometry)
            let weightFailures = checker.check(at: c.weight, analytic: analytic.weight) { w in
                GradientChecker.projectedLoss(device.device.conv2dForward(input: c.input, weight: w, bias: c.bias, geometry: c.geometry), c.gradOutput)
            }
            #expect(weightFailures.isEmpty, "\(device) ∂L/∂w \(c): \(weightFailures.prefix(3))")
            let biasFailures = checker.check(at: c.bias, analytic: analytic.bias) { b in
                GradientChecker.projectedLoss(device.device.conv2dForward(input: c.input, weight: c.weight, bias: b, geometry: c.geometry), c.gradOutput)
            }
            #expect(biasFailures.isEmpty, "\(device) ∂L/∂b \(c): \(biasFailures.prefix(3))")
        }
    }

    /// The checker itself must be able to fail: a wrong gradient (scaled by 1.1) is caught.
    @Test func checkerRejectsAWrongGradient() {
        let c = Self.cases[0]
        let device = TestDevices.naive
        var wrong = device.conv2dBackwardData(gradOutput: c.gradOutput, weight: c.weight, geometry: c.geometry)
        wrong.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] *= 1.1 } }
        let failures = checker.check(at: c.input, analytic: wrong) { x in
            GradientChecker.projectedLoss(device.conv2dForward(input: x, weight: c.weight, bias: c.bias, geometry: c.geometry), c.gradOutput)
        }
        #expect(!failures.isEmpty)
    }
}
