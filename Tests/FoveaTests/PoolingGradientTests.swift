import Fovea
import FoveaTestSupport
import Testing

/// Every pooling backward pass on every backend is checked against central finite differences
/// of the projected loss `L = Σ pool(x) · g`.
@Suite("Pooling gradients by finite differences")
struct PoolingGradientTests {
    static let options: [(Shape, Pool2DOptions)] = [
        ([2, 3, 7, 6], Pool2DOptions(kernel: 3, stride: 2, padding: 1)),
        ([1, 2, 8, 7], Pool2DOptions(kernel: Size2D(height: 2, width: 3), stride: Size2D(height: 1, width: 2), padding: 1, dilation: Size2D(height: 2, width: 1))),
        ([2, 2, 5, 5], Pool2DOptions(kernel: 2, stride: 1)),
    ]
    let checker = GradientChecker(step: 1e-2, tolerance: 2e-2, floor: 1e-1, maxChecks: 48)

    /// Distinct values 0.05 apart (5 steps) in random order: no central difference crosses a tie,
    /// so max pooling is linear around every checked point.
    static func distinctValues(_ shape: Shape, seed: UInt64) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        let order = Array(0..<shape.count).shuffled(using: &generator)
        return Tensor(shape: shape, scalars: order.map { Float($0 - shape.count / 2) * 0.05 })
    }

    @Test(arguments: TestDevices.all)
    func maxPool(device: LabeledDevice) throws {
        for (index, (shape, options)) in Self.options.enumerated() {
            let g = try Pool2DGeometry(inputShape: shape, options: options)
            let x = Self.distinctValues(shape, seed: UInt64(index))
            let dy = Tensor.randomNormal(g.outputShape, seed: UInt64(100 + index))
            let forward = device.device.maxPool2dForward(input: x, geometry: g)
            let analytic = device.device.maxPool2dBackward(gradOutput: dy, argmax: forward.argmax, geometry: g)
            let failures = checker.check(at: x, analytic: analytic) { x in
                GradientChecker.projectedLoss(device.device.maxPool2dForward(input: x, geometry: g).output, dy)
            }
            #expect(failures.isEmpty, "\(device) max \(g): \(failures.prefix(3))")
        }
    }

    @Test(arguments: TestDevices.all, [true, false])
    func averagePool(device: LabeledDevice, countIncludesPadding: Bool) throws {
        for (index, (shape, options)) in Self.options.enumerated() {
            var options = options
            options.countIncludesPadding = countIncludesPadding
            let g = try Pool2DGeometry(inputShape: shape, options: options)
            let x = Tensor.randomNormal(shape, seed: UInt64(200 + index))
            let dy = Tensor.randomNormal(g.outputShape, seed: UInt64(300 + index))
            let analytic = device.device.avgPool2dBackward(gradOutput: dy, geometry: g)
            let failures = checker.check(at: x, analytic: analytic) { x in
                GradientChecker.projectedLoss(device.device.avgPool2dForward(input: x, geometry: g), dy)
            }
            #expect(failures.isEmpty, "\(device) avg \(g) countIncludesPadding \(countIncludesPadding): \(failures.prefix(3))")
        }
    }

    @Test(arguments: TestDevices.all)
    func adaptiveAveragePool(device: LabeledDevice) {
        let cases = [
            AdaptiveCase(input: [2, 2, 7, 5], outputSize: Size2D(height: 3, width: 2), seed: 21),
            AdaptiveCase(input: [1, 3, 6, 6], outputSize: 1, seed: 22),
            AdaptiveCase(input: [1, 2, 3, 4], outputSize: Size2D(height: 5, width: 3), seed: 23),
        ]
        for c in cases {
            let analytic = device.device.adaptiveAvgPool2dBackward(gradOutput: c.gradOutput, inputShape: c.input.shape)
            let failures = checker.check(at: c.input, analytic: analytic) { x in
                GradientChecker.projectedLoss(device.device.adaptiveAvgPool2dForward(input: x, outputSize: c.outputSize), c.gradOutput)
            }
            #expect(failures.isEmpty, "\(device) \(c): \(failures.prefix(3))")
        }
    }
}
