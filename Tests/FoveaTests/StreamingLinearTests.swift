@testable import FoveaDispatch
import Fovea
import FoveaTestSupport
import Testing

/// Dispatch's fully connected forward for small batches streams the weight once instead of a GEMM:
/// the same values as naive within float tolerance, the same bits at any thread count, on both
/// sides of the batch threshold, with lengths that leave a tail after the 8- and 16-lane steps,
/// and with output counts that leave partial blocks of weight rows. Every kernel this CPU runs is
/// checked, not only the best (`StreamingDot`: the AVX-512 and AVX2 dot products and the portable
/// SIMD ones), so an AVX-512 machine also checks the AVX2 and portable paths.
@Suite("Linear forward that streams the weight")
struct StreamingLinearTests {
    @Test func matchesNaiveAndIsThreadIndependent() throws {
        let limit = DispatchDevice.streamingLinearRows
        let shapes = [(1, 37, 70), (1, 16, 1), (1, 7, 5), (2, 9, 13), (3, 64, 33), (4, 200, 5), (5, 31, 7), (7, 9, 65), (8, 1031, 70),
                      (9, 64, 97), (12, 48, 37), (limit, 129, 40), (limit + 1, 50, 20), (1, 9216, 96), (8, 4096, 65)]
        for (batch, features, outputs) in shapes {
            let x = Tensor.randomNormal([batch, features], seed: UInt64(batch))
            let w = Tensor.randomNormal([outputs, features], seed: UInt64(features))
            let tolerance = 1e-4 * Float(features).squareRoot()
            for bias in [nil, Tensor.randomNormal([outputs], seed: 3)] {
                let reference = NaiveDevice().linearForward(input: x, weight: w, bias: bias)
                for kernel in GEMMKernel.available {
                    let one = DispatchDevice(threads: 1, fallback: nil, kernel: kernel).linearForward(input: x, weight: w, bias: bias)
                    expectClose(one, reference, absolute: tolerance, relative: 1e-4, "\(kernel.name) N \(batch), \(features) → \(outputs)")
                    for threads in [2, 3, 8] {
                        expectIdentical(DispatchDevice(threads: threads, fallback: nil, kernel: kernel).linearForward(input: x, weight: w, bias: bias),
                                        one, "\(kernel.name) N \(batch), \(features) → \(outputs) at \(threads) threads")
                    }
                }
            }
        }
    }
}
