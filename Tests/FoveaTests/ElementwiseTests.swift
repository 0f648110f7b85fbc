import Fovea
import FoveaTestSupport
import Testing

/// add, multiply, concatenateChannels and splitChannels: by hand, against `naive` (bit for bit:
/// each is one exact operation or a copy), across thread counts, and their adjoints by finite
/// differences.
@Suite("Element-wise operations")
struct ElementwiseTests {
    /// Odd sizes, and one large enough (102 400 elements) to be split into several chunks.
    static let shapes: [Shape] = [[1, 1, 1, 1], [2, 3, 5, 7], [3, 1, 4, 1], [2, 8, 80, 80]]

    @Test(arguments: TestDevices.all)
    func addAndMultiplyByHand(device: LabeledDevice) {
        let a = Tensor(shape: [1, 3, 1, 1], scalars: [1, -2, 0.5])
        let b = Tensor(shape: [1, 3, 1, 1], scalars: [10, 20, -4])
        #expect(device.device.add(a, b).scalars == [11, 18, -3.5])
        #expect(device.device.multiply(a, b).scalars == [10, -40, -2])
        #expect(device.device.add(a, b).shape == a.shape)
    }

    /// a `[2, 2, 2, 3]` and b `[2, 1, 2, 3]`: channel c < 2 of the result is a's channel c, channel
    /// 2 is b's channel 0, in every image.
    @Test(arguments: TestDevices.all)
    func concatenationPutsChannelsInOrder(device: LabeledDevice) {
        let a = Tensor.randomNormal([2, 2, 2, 3], seed: 1)
        let b = Tensor.randomNormal([2, 1, 2, 3], seed: 2)
        let y = device.device.concatenateChannels([a, b])
        #expect(y.shape == [2, 3, 2, 3])
        for n in 0..<2 {
            for h in 0..<2 {
                for w in 0..<3 {
                    #expect(y[n, 0, h, w] == a[n, 0, h, w] && y[n, 1, h, w] == a[n, 1, h, w] && y[n, 2, h, w] == b[n, 0, h, w])
                }
            }
        }
    }

    /// Concatenating and splitting with the same sizes give back what went in, either way round;
    /// parts of zero channels included.
    @Test(arguments: TestDevices.all)
    func concatenateThenSplitIsTheIdentity(device: LabeledDevice) {
        let parts = [Tensor.randomNormal([3, 2, 5, 4], seed: 3), Tensor(zeros: [3, 0, 5, 4]), Tensor.randomNormal([3, 5, 5, 4], seed: 4)]
        let split = device.device.splitChannels(device.device.concatenateChannels(parts), sizes: [2, 0, 5])
        #expect(split.count == 3)
        for (part, original) in zip(split, parts) { expectIdentical(part, original, "\(device) concat then split") }
        let whole = Tensor.randomNormal([2, 6, 3, 3], seed: 5)
        expectIdentical(device.device.concatenateChannels(device.device.splitChannels(whole, sizes: [1, 3, 2])), whole, "\(device) split then concat")
        expectIdentical(device.device.concatenateChannels([whole]), whole, "\(device) one input")
    }

    @Test(arguments: TestDevices.accelerated)
    func agreesWithNaive(device: LabeledDevice) {
        let naive = TestDevices.naive
        for (index, shape) in Self.shapes.enumerated() {
            let a = Tensor.randomNormal(shape, seed: UInt64(10 + index))
            let b = Tensor.randomNormal(shape, seed: UInt64(20 + index))
            expectIdentical(device.device.add(a, b), naive.add(a, b), "\(device) add \(shape)")
            expectIdentical(device.device.multiply(a, b), naive.multiply(a, b), "\(device) multiply \(shape)")
            let c = Tensor.randomNormal([shape[0], 3, shape[2], shape[3]], seed: UInt64(30 + index))
            let joined = device.device.concatenateChannels([a, c, b])
            expectIdentical(joined, naive.concatenateChannels([a, c, b]), "\(device) concatenate \(shape)")
            let sizes = [1, shape[1], 2, shape[1]]
            for (part, expected) in zip(device.device.splitChannels(joined, sizes: sizes), naive.splitChannels(joined, sizes: sizes)) {
                expectIdentical(part, expected, "\(device) split \(shape)")
            }
        }
    }

    @Test func dispatchResultsIndependentOfThreadCount() throws {
        let devices = try [1, 2, 3, 4].map { try Devices.make("dispatch", threads: $0) }
        let a = Tensor.randomNormal(Self.shapes.last!, seed: 40)
        let b = Tensor.randomNormal(Self.shapes.last!, seed: 41)
        let sums = devices.map { $0.add(a, b) }
        let products = devices.map { $0.multiply(a, b) }
        let joined = devices.map { $0.concatenateChannels([a, b]) }
        let parts = devices.map { $0.splitChannels(a, sizes: [3, 5]) }
        for i in 1..<devices.count {
            expectIdentical(sums[i], sums[0], "add at \(i + 1) threads")
            expectIdentical(products[i], products[0], "multiply at \(i + 1) threads")
            expectIdentical(joined[i], joined[0], "concatenate at \(i + 1) threads")
            for p in 0..<2 { expectIdentical(parts[i][p], parts[0][p], "split part \(p) at \(i + 1) threads") }
        }
    }

    /// The backward passes layers build from these operations, checked by finite differences of
    /// `L = Σ op(…) · g`: `∂L/∂a` of `a + b` is `g`; of `a ⊙ b` it is `g ⊙ b`; of
    /// `concatenateChannels(xs)` with respect to `xs[i]` it is part i of `splitChannels(g)`.
    @Test(arguments: TestDevices.all)
    func adjointsByFiniteDifferences(device: LabeledDevice) {
        let d = device.device
        let checker = GradientChecker(step: 1e-2, tolerance: 1e-2, floor: 1e-1, maxChecks: 48)
        let a = Tensor.randomNormal([2, 3, 4, 5], seed: 50)
        let b = Tensor.randomNormal([2, 3, 4, 5], seed: 51)
        let g = Tensor.randomNormal([2, 3, 4, 5], seed: 52)
        let addFailures = checker.check(at: a, analytic: g) { GradientChecker.projectedLoss(d.add($0, b), g) }
        #expect(addFailures.isEmpty, "\(device) add: \(addFailures.prefix(3))")
        let multiplyFailures = checker.check(at: a, analytic: d.multiply(g, b)) { GradientChecker.projectedLoss(d.multiply($0, b), g) }
        #expect(multiplyFailures.isEmpty, "\(device) multiply: \(multiplyFailures.prefix(3))")

        let c = Tensor.randomNormal([2, 2, 4, 5], seed: 53)
        let gJoined = Tensor.randomNormal([2, 5, 4, 5], seed: 54)
        let gradients = d.splitChannels(gJoined, sizes: [3, 2])
        let first = checker.check(at: a, analytic: gradients[0]) { GradientChecker.projectedLoss(d.concatenateChannels([$0, c]), gJoined) }
        let second = checker.check(at: c, analytic: gradients[1]) { GradientChecker.projectedLoss(d.concatenateChannels([a, $0]), gJoined) }
        #expect(first.isEmpty && second.isEmpty, "\(device) concatenate: \(first.prefix(3)) \(second.prefix(3))")
    }

    /// Operands of different shapes are a programming error: the device traps, naming both shapes.
    @Test func mismatchedShapesTrap() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = try Devices.make("dispatch", threads: 2).add(Tensor(zeros: [2, 3, 4, 5]), Tensor(zeros: [2, 3, 5, 4]))
        }
        #if DEBUG
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("add") && text.contains("2×3×4×5") && text.contains("2×3×5×4"), "\(text)")
        #endif
        await #expect(processExitsWith: .failure) {
            _ = TestDevices.naive.multiply(Tensor(zeros: [3]), Tensor(zeros: [4]))
        }
    }
}
