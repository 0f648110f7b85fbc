import Fovea
import FoveaTestSupport
import Testing

/// `conv2dForward(…, epilogue:)` on every backend equals the unfused reference: naive's
/// convolution followed by naive's activation.
@Suite("Fused convolution epilogue")
struct FusedEpilogueTests {
    static let cases = ConvCase.randomized(count: 24, seed: 909)

    @Test(arguments: TestDevices.all)
    func matchesConvolutionThenActivation(device: LabeledDevice) {
        let naive = TestDevices.naive
        for convCase in Self.cases {
            let g = convCase.geometry
            for bias in [convCase.bias, nil] as [Tensor?] {
                let convolved = naive.conv2dForward(input: convCase.input, weight: convCase.weight, bias: bias, geometry: g)
                let expectedReLU = naive.activationForward(.relu, input: convolved)
                let fused = device.device.conv2dForward(input: convCase.input, weight: convCase.weight, bias: bias, epilogue: .relu, geometry: g)
                expectClose(fused, expectedReLU, absolute: device.absoluteTolerance(1e-4, expected: convolved), relative: 1e-4, "\(device) relu epilogue, bias \(bias != nil) \(convCase)")
                #expect(fused.scalars.allSatisfy { $0 >= 0 }, "\(device): a ReLU epilogue output is never negative")
                let plain = device.device.conv2dForward(input: convCase.input, weight: convCase.weight, bias: bias, epilogue: .none, geometry: g)
                expectClose(plain, convolved, absolute: device.absoluteTolerance(1e-4, expected: convolved), relative: 1e-4, "\(device) no epilogue, bias \(bias != nil) \(convCase)")
            }
        }
    }

    /// On one device the fused epilogue is exactly the device's own convolution then ReLU: the
    /// same sums, the same bias addition, the same comparison.
    @Test(arguments: TestDevices.all)
    func identicalToTheDevicesOwnComposition(device: LabeledDevice) {
        for convCase in Self.cases.prefix(8) {
            let g = convCase.geometry
            let separate = device.device.activationForward(
                .relu, input: device.device.conv2dForward(input: convCase.input, weight: convCase.weight, bias: convCase.bias, geometry: g))
            let fused = device.device.conv2dForward(input: convCase.input, weight: convCase.weight, bias: convCase.bias, epilogue: .relu, geometry: g)
            expectIdentical(fused, separate, "\(device) \(convCase)")
        }
    }

    /// The vectorised epilogue on rows of every length around its 16-lane step, with a bias,
    /// against the scalar definition; zeros, negative zero and NaN included.
    @Test func epilogueRowsOfEveryLength() {
        for count in 0...40 {
            let values: [Float] = (0..<count).map { i in
                let base = Float(i % 7) - 3.5
                let offset: Float = i % 5 == 0 ? -0.0 : 0.25
                return base + offset
            }
            for epilogue in [ConvolutionEpilogue.none, .relu] {
                var row = values
                row.withUnsafeMutableBufferPointer { epilogue.apply(row: $0.baseAddress!, count: count, bias: 0.5) }
                let expected = values.map { v -> Float in
                    let shifted = v + 0.5
                    return epilogue == .relu ? (shifted < 0 ? 0 : shifted) : shifted
                }
                #expect(row == expected, "\(epilogue), \(count) values")
            }
        }
        var nan: [Float] = [.nan, -1, 2]
        nan.withUnsafeMutableBufferPointer { ConvolutionEpilogue.relu.apply(row: $0.baseAddress!, count: 3, bias: 0) }
        #expect(nan[0].isNaN && nan[1] == 0 && nan[2] == 2)
    }
}
