import Fovea
import FoveaKernels
import FoveaTestSupport
import Testing

/// The convolution bias gradient `∂b[k] = Σ_{n,p,q} ∂y[n,k,p,q]` that the openblas and dispatch
/// backends share (`Im2colConvolution.biasGradient`): vectorised, split over channels.
@Suite("Convolution bias gradient")
struct BiasGradientTests {
    /// Planes shorter than one 64-value block, with a tail, and exact multiples; tensors below and
    /// above the 64 Ki-value size where channels are split over workers.
    static let shapes: [(batch: Int, channels: Int, height: Int, width: Int)] = [
        (1, 3, 5, 7), (2, 5, 8, 8), (3, 17, 13, 11), (1, 64, 56, 56), (4, 33, 23, 29), (8, 96, 7, 7),
    ]

    /// Agrees with a Double sum of the same values (in plain index order), and is bit-identical
    /// at 1–4 threads.
    @Test(arguments: shapes.indices)
    func sumsEveryValueAtAnyThreadCount(index: Int) throws {
        let s = Self.shapes[index]
        let g = try Conv2DGeometry(inputShape: [s.batch, 2, s.height, s.width], weightShape: [s.channels, 2, 1, 1],
                                   options: Conv2DOptions())
        let gradOutput = Tensor.randomNormal([s.batch, s.channels, s.height, s.width], seed: UInt64(40 + index))
        let values = gradOutput.scalars, plane = s.height * s.width
        var reference = [Float](repeating: 0, count: s.channels)
        for k in 0..<s.channels {
            var sum: Double = 0
            for n in 0..<s.batch {
                for i in 0..<plane { sum += Double(values[(n * s.channels + k) * plane + i]) }
            }
            reference[k] = Float(sum)
        }
        let single = Im2colConvolution.biasGradient(gradOutput, geometry: g, threads: 1)
        // Σ of n·plane values of unit variance: the Float partial sums err by about √(n·plane)·ε.
        expectClose(single, Tensor(shape: [s.channels], scalars: reference), absolute: 1e-4, relative: 1e-5,
                    "bias gradient of \(gradOutput.shape)")
        for threads in 2...4 {
            expectIdentical(Im2colConvolution.biasGradient(gradOutput, geometry: g, threads: threads), single,
                            "bias gradient of \(gradOutput.shape) at \(threads) threads vs 1")
        }
    }
}
