@testable import FoveaDispatch
import Fovea
import FoveaTestSupport
import Testing

/// Dispatch's fully connected forward for small batches streams the weight once instead of a GEMM:
/// the same values as naive within float tolerance, the same bits at any thread count, on both
/// sides of the batch threshold, with lengths that leave a tail after the 16-lane steps, and with
/// output counts that leave partial blocks of weight rows (4 at a time up to 4 inputs, else 3).
@Suite("Linear forward that streams the weight")
struct StreamingLinearTests {
    @Test func matchesNaiveAndIsThreadIndependent() throws {
        let limit = DispatchDevice.streamingLinearRows
        for (batch, features, outputs) in [(1, 37, 70), (1, 16, 1), (3, 64, 33), (4, 200, 5), (5, 31, 7), (7, 9, 65), (12, 48, 37), (limit, 129, 40), (limit + 1, 50, 20)] {
            let x = Tensor.randomNormal([batch, features], seed: UInt64(batch))
            let w = Tensor.randomNormal([outputs, features], seed: UInt64(features))
            for bias in [nil, Tensor.randomNormal([outputs], seed: 3)] {
                let reference = NaiveDevice().linearForward(input: x, weight: w, bias: bias)
                // Every kernel this CPU runs: the AVX-512 dot products and the portable SIMD ones.
                for kernel in GEMMKernel.available {
                    let one = DispatchDevice(threads: 1, fallback: nil, kernel: kernel).linearForward(input: x, weight: w, bias: bias)
                    expectClose(one, reference, absolute: 1e-4, relative: 1e-4, "\(kernel.name) N \(batch), \(features) → \(outputs)")
                    for threads in [2, 3, 8] {
                        expectIdentical(DispatchDevice(threads: threads, fallback: nil, kernel: kernel).linearForward(input: x, weight: w, bias: bias),
                                        one, "\(kernel.name) N \(batch) at \(threads) threads")
                    }
                }
            }
        }
    }
}
