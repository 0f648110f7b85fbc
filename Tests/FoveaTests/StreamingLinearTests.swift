@testable import FoveaDispatch
import Fovea
import FoveaTestSupport
import Testing

/// The Dispatch backend's small-batch linear forward, which streams the weight through a dot-product
/// kernel of the micro-kernel's instruction set (`StreamingDot`): every kernel this CPU runs, not
/// only the best, so an AVX-512 machine also checks the AVX2 and portable paths.
@Suite("Streaming linear forward (small batches)")
struct StreamingLinearTests {
    /// Feature counts that end mid-vector for 8 and 16 lanes, and AlexNet-sized ones; batches 1 to
    /// `streamingLinearRows` (every block of weight and input rows, with ragged last blocks).
    static let cases: [LinearCase] = [(1, 1, 1), (1, 7, 5), (2, 9, 13), (3, 17, 35), (4, 33, 34), (5, 40, 67), (7, 100, 33),
                                      (8, 1031, 70), (9, 64, 97), (16, 129, 40), (1, 9216, 96), (8, 4096, 65)]
        .enumerated().map { LinearCase(batch: $1.0, features: $1.1, outputs: $1.2, seed: 900 + UInt64($0)) }

    @Test(arguments: GEMMKernel.available.map(\.name))
    func everyKernelAgreesWithNaiveAtAnyThreadCount(kernelName: String) throws {
        let kernel = try #require(GEMMKernel.available.first { $0.name == kernelName })
        let naive = TestDevices.naive
        for c in Self.cases {
            #expect(c.input.shape[0] <= DispatchDevice.streamingLinearRows)
            let expected = naive.linearForward(input: c.input, weight: c.weight, bias: c.bias)
            let one = DispatchDevice(threads: 1, fallback: nil, kernel: kernel).linearForward(input: c.input, weight: c.weight, bias: c.bias)
            let tolerance: Float = 1e-4 * Float(c.input.shape[1]).squareRoot()
            expectClose(one, expected, absolute: tolerance, relative: 1e-4, "\(kernel.name) \(c)")
            for threads in [2, 3] {
                let many = DispatchDevice(threads: threads, fallback: nil, kernel: kernel).linearForward(input: c.input, weight: c.weight, bias: c.bias)
                expectIdentical(many, one, "\(kernel.name) \(c), \(threads) threads")
            }
        }
    }
}
