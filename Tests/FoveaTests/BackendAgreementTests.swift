import Fovea
import FoveaTestSupport
import Testing

/// Every convolution pass of every accelerated backend agrees with `naive` on randomised shapes.
@Suite("Backends agree with naive")
struct BackendAgreementTests {
    static let cases = ConvCase.randomized(count: 40, seed: 2026)

    @Test(arguments: TestDevices.accelerated)
    func forward(device: LabeledDevice) {
        for convCase in Self.cases {
            let g = convCase.geometry
            let expected = TestDevices.naive.conv2dForward(input: convCase.input, weight: convCase.weight, bias: convCase.bias, geometry: g)
            let actual = device.device.conv2dForward(input: convCase.input, weight: convCase.weight, bias: convCase.bias, geometry: g)
            expectClose(actual, expected, absolute: device.absoluteTolerance(1e-4, expected: expected), relative: 1e-4, "\(device) forward \(convCase)")
            let noBias = device.device.conv2dForward(input: convCase.input, weight: convCase.weight, bias: nil, geometry: g)
            let expectedNoBias = TestDevices.naive.conv2dForward(input: convCase.input, weight: convCase.weight, bias: nil, geometry: g)
            expectClose(noBias, expectedNoBias, absolute: device.absoluteTolerance(1e-4, expected: expectedNoBias), relative: 1e-4, "\(device) forward without bias \(convCase)")
        }
    }

    @Test(arguments: TestDevices.accelerated)
    func backwardData(device: LabeledDevice) {
        for convCase in Self.cases {
            let g = convCase.geometry
            let expected = TestDevices.naive.conv2dBackwardData(gradOutput: convCase.gradOutput, weight: convCase.weight, geometry: g)
            let actual = device.device.conv2dBackwardData(gradOutput: convCase.gradOutput, weight: convCase.weight, geometry: g)
            expectClose(actual, expected, absolute: device.absoluteTolerance(1e-4, expected: expected), relative: 1e-4, "\(device) backward-data \(convCase)")
        }
    }

    @Test(arguments: TestDevices.accelerated)
    func backwardFilter(device: LabeledDevice) {
        for convCase in Self.cases {
            let g = convCase.geometry
            let expected = TestDevices.naive.conv2dBackwardFilter(gradOutput: convCase.gradOutput, input: convCase.input, geometry: g)
            let actual = device.device.conv2dBackwardFilter(gradOutput: convCase.gradOutput, input: convCase.input, geometry: g)
            expectClose(actual.weight, expected.weight, absolute: 1e-3, relative: 1e-4, "\(device) backward-filter weight \(convCase)")
            expectClose(actual.bias, expected.bias, absolute: 1e-3, relative: 1e-4, "\(device) backward-filter bias \(convCase)")
        }
    }

    /// Results do not depend on the thread count: 1, 2, 3 and 4 workers give identical bits (the
    /// work is cut by the shapes alone, `WorkGrain`; more in ThreadCountIndependenceTests).
    @Test(arguments: ["dispatch", "openblas"])
    func resultsIndependentOfThreadCount(name: String) throws {
        let devices = try [1, 2, 3, 4].map { try Devices.make(name, threads: $0) }
        for convCase in Self.cases.suffix(8) {
            let g = convCase.geometry
            let forward = devices.map { $0.conv2dForward(input: convCase.input, weight: convCase.weight, bias: convCase.bias, geometry: g) }
            let data = devices.map { $0.conv2dBackwardData(gradOutput: convCase.gradOutput, weight: convCase.weight, geometry: g) }
            let filter = devices.map { $0.conv2dBackwardFilter(gradOutput: convCase.gradOutput, input: convCase.input, geometry: g) }
            for i in 1..<devices.count {
                expectIdentical(forward[i], forward[0], "\(name) forward at \(i + 1) threads \(convCase)")
                expectIdentical(data[i], data[0], "\(name) backward-data at \(i + 1) threads \(convCase)")
                expectIdentical(filter[i].weight, filter[0].weight, "\(name) backward-filter at \(i + 1) threads \(convCase)")
            }
        }
    }
}

