import Fovea
import FoveaTestSupport
import Testing

/// Every pooling pass of every accelerated backend agrees with `naive` on randomised shapes.
/// Max pooling selects elements, so its output and argmax must be identical; sums agree to rounding.
@Suite("Pooling backends agree with naive")
struct PoolingAgreementTests {
    static let cases = PoolCase.randomized(count: 40, seed: 4242)
    static let adaptiveCases = AdaptiveCase.randomized(count: 16, seed: 4343)
    let naive = TestDevices.naive

    @Test(arguments: TestDevices.accelerated)
    func maxPool(device: LabeledDevice) {
        for c in Self.cases {
            let expected = naive.maxPool2dForward(input: c.input, geometry: c.geometry)
            let actual = device.device.maxPool2dForward(input: c.input, geometry: c.geometry)
            expectIdentical(actual.output, expected.output, "\(device) max forward \(c)")
            #expect(actual.argmax == expected.argmax, "\(device) max argmax \(c)")
            let expectedGradient = naive.maxPool2dBackward(gradOutput: c.gradOutput, argmax: expected.argmax, geometry: c.geometry)
            let gradient = device.device.maxPool2dBackward(gradOutput: c.gradOutput, argmax: actual.argmax, geometry: c.geometry)
            expectClose(gradient, expectedGradient, absolute: 1e-5, relative: 1e-5, "\(device) max backward \(c)")
        }
    }

    @Test(arguments: TestDevices.accelerated)
    func averagePool(device: LabeledDevice) {
        for c in Self.cases {
            for countIncludesPadding in [true, false] {
                var options = c.geometry.options
                options.countIncludesPadding = countIncludesPadding
                let g = try! Pool2DGeometry(inputShape: c.input.shape, options: options)
                let forward = device.device.avgPool2dForward(input: c.input, geometry: g)
                expectClose(forward, naive.avgPool2dForward(input: c.input, geometry: g), absolute: 1e-5, relative: 1e-5, "\(device) avg forward \(c)")
                let backward = device.device.avgPool2dBackward(gradOutput: c.gradOutput, geometry: g)
                expectClose(backward, naive.avgPool2dBackward(gradOutput: c.gradOutput, geometry: g), absolute: 1e-5, relative: 1e-5, "\(device) avg backward \(c)")
            }
        }
    }

    @Test(arguments: TestDevices.accelerated)
    func adaptiveAveragePool(device: LabeledDevice) {
        for c in Self.adaptiveCases {
            let forward = device.device.adaptiveAvgPool2dForward(input: c.input, outputSize: c.outputSize)
            expectClose(forward, naive.adaptiveAvgPool2dForward(input: c.input, outputSize: c.outputSize), absolute: 1e-5, relative: 1e-5, "\(device) forward \(c)")
            let backward = device.device.adaptiveAvgPool2dBackward(gradOutput: c.gradOutput, inputShape: c.input.shape)
            expectClose(backward, naive.adaptiveAvgPool2dBackward(gradOutput: c.gradOutput, inputShape: c.input.shape), absolute: 1e-5, relative: 1e-5, "\(device) backward \(c)")
        }
    }

    /// The Dispatch backend's pooling gives identical bits at 1, 2, 3 and 4 threads (the work split
    /// never changes the order in which an element is reduced).
    /// Wide rows, where Dispatch's AVX-512 row kernel takes the whole windows 16 at a time (with a
    /// ragged last group): ties of equal values, −0 beside +0, and NaNs, at stride 1 and 2, with
    /// and without padding and a 2-row dilation — the output bits and every argmax are naive's.
    @Test(arguments: TestDevices.accelerated)
    func maxPoolTiesAndNaNsInWideRows(device: LabeledDevice) throws {
        var generator = SeededGenerator(seed: 77)
        for (index, options) in [Pool2DOptions(kernel: 3, stride: 2, padding: 1), Pool2DOptions(kernel: 3, stride: 1, padding: 1),
                                 Pool2DOptions(kernel: 2, stride: 2), Pool2DOptions(kernel: Size2D(height: 2, width: 3), stride: 2,
                                                                                      dilation: Size2D(height: 2, width: 1))].enumerated() {
            // Values from {−1, −0, +0, 1, 2} (ties everywhere) with about one NaN in 50.
            var input = Tensor(zeros: [2, 3, 9, 61])
            input.withUnsafeMutableBufferPointer { x in
                for i in x.indices {
                    let pick = Int.random(in: 0..<50, using: &generator)
                    x[i] = pick == 0 ? .nan : [-1, -0.0, 0, 1, 2][pick % 5]
                }
            }
            let g = try Pool2DGeometry(inputShape: input.shape, options: options)
            let expected = naive.maxPool2dForward(input: input, geometry: g)
            let actual = device.device.maxPool2dForward(input: input, geometry: g)
            expectIdentical(actual.output, expected.output, "\(device) case \(index) \(g)")
            #expect(actual.argmax == expected.argmax, "\(device) case \(index) \(g)")
            // Inference's values without the argmax: the same bits.
            expectIdentical(device.device.maxPool2dForwardValues(input: input, geometry: g), expected.output,
                            "\(device) case \(index) \(g), values only")
        }
    }

    /// `maxPool2dForwardValues` (inference, no argmax) gives `maxPool2dForward`'s output bit for
    /// bit on every backend and every case of the suite, and on Dispatch at 1, 2, 3 and 8 threads.
    @Test(arguments: TestDevices.all)
    func maxPoolValuesAreTheForwardsOutput(device: LabeledDevice) throws {
        for c in Self.cases {
            let expected = naive.maxPool2dForward(input: c.input, geometry: c.geometry).output
            expectIdentical(device.device.maxPool2dForwardValues(input: c.input, geometry: c.geometry), expected, "\(device) \(c)")
        }
        for threads in [1, 2, 3, 8] {
            let dispatch = try Devices.make("dispatch", threads: threads)
            for c in Self.cases.suffix(10) {
                expectIdentical(dispatch.maxPool2dForwardValues(input: c.input, geometry: c.geometry),
                                dispatch.maxPool2dForward(input: c.input, geometry: c.geometry).output, "dispatch ×\(threads) \(c)")
            }
        }
    }

    @Test func dispatchResultsIndependentOfThreadCount() throws {
        let devices = try [1, 2, 3, 4].map { try Devices.make("dispatch", threads: $0) }
        for c in Self.cases.suffix(10) {
            let max = devices.map { $0.maxPool2dForward(input: c.input, geometry: c.geometry) }
            let maxBackward = devices.map { $0.maxPool2dBackward(gradOutput: c.gradOutput, argmax: max[0].argmax, geometry: c.geometry) }
            let average = devices.map { $0.avgPool2dForward(input: c.input, geometry: c.geometry) }
            let averageBackward = devices.map { $0.avgPool2dBackward(gradOutput: c.gradOutput, geometry: c.geometry) }
            for i in 1..<devices.count {
                expectIdentical(max[i].output, max[0].output, "max forward at \(i + 1) threads \(c)")
                #expect(max[i].argmax == max[0].argmax, "max argmax at \(i + 1) threads \(c)")
                expectIdentical(maxBackward[i], maxBackward[0], "max backward at \(i + 1) threads \(c)")
                expectIdentical(average[i], average[0], "avg forward at \(i + 1) threads \(c)")
                expectIdentical(averageBackward[i], averageBackward[0], "avg backward at \(i + 1) threads \(c)")
            }
        }
        for c in Self.adaptiveCases.suffix(5) {
            let forward = devices.map { $0.adaptiveAvgPool2dForward(input: c.input, outputSize: c.outputSize) }
            let backward = devices.map { $0.adaptiveAvgPool2dBackward(gradOutput: c.gradOutput, inputShape: c.input.shape) }
            for i in 1..<devices.count {
                expectIdentical(forward[i], forward[0], "adaptive forward at \(i + 1) threads \(c)")
                expectIdentical(backward[i], backward[0], "adaptive backward at \(i + 1) threads \(c)")
            }
        }
    }

    /// Dispatch's unpadded 2×2/2 average pooling takes eight outputs at a time and the rest one by
    /// one; both sum as its scalar loop does, so every output equals `((((0 + a) + b) + c) + d) / 4`
    /// in Float bit for bit — on widths with and without a tail, odd sizes, 1, 2, 3 and 8 threads.
    @Test func dispatchAveragesPairsInTheScalarOrder() throws {
        for threads in [1, 2, 3, 8] {
            let device = try Devices.make("dispatch", threads: threads)
            for (index, shape) in ([[2, 3, 10, 40], [1, 2, 9, 37], [1, 1, 4, 14]] as [Shape]).enumerated() {
                let g = try Pool2DGeometry(inputShape: shape, options: Pool2DOptions(kernel: 2, stride: 2))
                let x = Tensor.randomNormal(shape, seed: UInt64(70 + index))
                let (w, plane, outputPlane) = (shape[3], shape[2] * shape[3], g.outputHeight * g.outputWidth)
                let expected = Tensor(shape: g.outputShape, scalars: (0..<g.outputShape.count).map { i in
                    let (planeIndex, position) = i.quotientAndRemainder(dividingBy: outputPlane)
                    let (p, q) = position.quotientAndRemainder(dividingBy: g.outputWidth)
                    let top = planeIndex * plane + 2 * p * w + 2 * q
                    var sum: Float = 0
                    for offset in [top, top + 1, top + w, top + w + 1] { sum += x.scalars[offset] }
                    return sum / 4
                })
                expectIdentical(device.avgPool2dForward(input: x, geometry: g), expected, "dispatch ×\(threads) \(g)")
            }
        }
    }
}

/// `MaxPool2D` asks the device for the values alone in evaluation mode (nothing to route a
/// gradient through), and for the argmax in training mode; both give the same output.
@Suite("Max pooling in evaluation mode")
struct MaxPoolEvaluationTests {
    @Test func evaluationSkipsTheArgmax() throws {
        let report = CheckReport()
        let device = CheckingDevice(subject: try Devices.make("dispatch", threads: 2), reference: NaiveDevice(), report: report)
        let pool = try MaxPool2D(kernelSize: 3, stride: 2, padding: 1)
        let x = Tensor.randomNormal([2, 4, 13, 13], seed: 5)
        pool.train()
        let trained = try pool.forward(x, device: device)
        pool.eval()
        let evaluated = try pool.forward(x, device: device)
        expectIdentical(evaluated, trained, "evaluation against training output")
        let operations = report.entries.map(\.operation)
        #expect(operations.contains("maxPool2dForward") && operations.contains("maxPool2dForwardValues"), "\(operations)")
        #expect(report.violations.isEmpty, "\(report.violations)")
        // Nothing was kept for a backward pass.
        #expect(throws: FoveaError.self) { _ = try pool.backward(Tensor(zeros: evaluated.shape), device: device) }
    }
}
