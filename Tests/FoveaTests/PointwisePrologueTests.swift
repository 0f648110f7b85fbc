@testable import FoveaDispatch
import FoveaKernels
import Fovea
import FoveaTestSupport
import Testing

/// The pointwise forward with a batch-norm prologue (`PointwiseConvolution.forward(parts:…prologue:…)`,
/// DenseNet's bottlenecks): each work item normalises its columns into a per-thread buffer and
/// runs its tiles over it. Its result is, bit for bit, the device's batch norm followed by the
/// pointwise forward, and the direct GEMM's prologue fused into its packing, whatever the parts,
/// the thread count and the split.
@Suite("Dispatch pointwise convolution with a batch-norm prologue")
struct PointwisePrologueTests {
    /// Parts crossing depth blocks, one part, positions cut into several parts per image (300
    /// channels of 40×40 exceed `partBytes`), ragged tiles (9×11, 6×6), and batch 1 with more
    /// output channels than positions (7×7, 64 outputs: split by output channels at 2 threads).
    static let cases: [(parts: [Int], batch: Int, height: Int, width: Int, outputs: Int)] = [
        ([16, 8, 16], 1, 9, 11, 24),
        ([40], 3, 6, 6, 33),
        ([64, 236], 2, 40, 40, 12),
        ([64, 32, 32, 32, 32, 32, 32, 32, 32], 1, 7, 7, 64),
        ([100], 2, 14, 14, 128),
    ]

    @Test(.enabled(if: GEMMKernel.best.isAVX512, "the pointwise kernel needs AVX-512"))
    func matchesTheCompositionAndTheDirectPrologue() throws {
        for (index, c) in Self.cases.enumerated() {
            let channels = c.parts.reduce(0, +)
            let g = try Conv2DGeometry(inputShape: [c.batch, channels, c.height, c.width], weightShape: [c.outputs, channels, 1, 1],
                                       options: Conv2DOptions())
            let parts = c.parts.enumerated().map {
                Tensor.randomNormal([c.batch, $0.element, c.height, c.width], seed: UInt64(10 * index + $0.offset))
            }
            let w = Tensor.randomNormal(g.weightShape, standardDeviation: 0.2, seed: UInt64(index + 100))
            let direct = DispatchDevice(threads: 2, fallback: nil, algorithms: ConvolutionAlgorithmOverride([.forward: .direct]))
            for (activation, bias, epilogue) in BatchNormPrologueTests.fusions(outputs: c.outputs) {
                let prologue = BatchNormPrologueTests.prologue(channels: channels, activation: activation, seed: UInt64(20 + index))
                let context = "parts \(c.parts), \(g), \(String(describing: activation)), \(epilogue)"
                let composed = direct.conv2dForward(input: direct.applying(prologue, to: direct.concatenateChannels(parts)), weight: w,
                                                    bias: bias, epilogue: epilogue, geometry: g)
                let packedWithPrologue = direct.conv2dForward(parts: parts, prologue: prologue, weight: w, bias: bias, epilogue: epilogue,
                                                              geometry: g)
                expectIdentical(packedWithPrologue, composed, "\(context): the direct GEMM's prologue")
                for threads in [1, 2, 3, 8] {
                    let device = DispatchDevice(threads: threads, fallback: nil, algorithms: ConvolutionAlgorithmOverride([.forward: .pointwise]))
                    let fromParts = device.conv2dForward(parts: parts, prologue: prologue, weight: w, bias: bias, epilogue: epilogue, geometry: g)
                    expectIdentical(fromParts, composed, "\(context), pointwise from the parts at \(threads) threads")
                    let whole = device.conv2dForward(input: device.concatenateChannels(parts), prologue: prologue, weight: w, bias: bias,
                                                     epilogue: epilogue, geometry: g)
                    expectIdentical(whole, composed, "\(context), pointwise from one input at \(threads) threads")
                }
            }
        }
    }

    /// The driver itself with parts of 5 positions and one panel per item: the same bits.
    @Test(.enabled(if: GEMMKernel.best.isAVX512, "the pointwise kernel needs AVX-512"))
    func doesNotDependOnTheSplit() throws {
        let g = try Conv2DGeometry(inputShape: [2, 96, 9, 9], weightShape: [70, 96, 1, 1], options: Conv2DOptions())
        let parts = [Tensor.randomNormal([2, 64, 9, 9], seed: 1), Tensor.randomNormal([2, 32, 9, 9], seed: 2)]
        let w = Tensor.randomNormal(g.weightShape, standardDeviation: 0.2, seed: 3)
        let bias = Tensor.randomNormal([70], seed: 4)
        let prologue = BatchNormCoefficients(BatchNormPrologueTests.prologue(channels: 96, activation: .relu, seed: 5), channels: 96)
        let driver = PointwiseConvolution(threads: 3, kernel: .best, weightCache: nil)
        let result = driver.forward(parts: parts, weight: w, bias: bias, epilogue: .relu, prologue: prologue, geometry: g,
                                    blocking: driver.blocking(for: g))
        var narrow = driver
        narrow.partBytes = 4 * 96 * 5
        var blocking = narrow.blocking(for: g)
        #expect(blocking.partSize <= 5, "\(blocking)")
        blocking.channelParts = 3
        blocking.panelsPerPart = 1
        expectIdentical(narrow.forward(parts: parts, weight: w, bias: bias, epilogue: .relu, prologue: prologue, geometry: g, blocking: blocking),
                        result, "parts of 5 positions, one panel per item")
        let naive = TestDevices.naive
        let normalized = naive.applying(BatchNormPrologueTests.prologue(channels: 96, activation: .relu, seed: 5), to: naive.concatenateChannels(parts))
        let reference = naive.activationForward(.relu, input: naive.conv2dForward(input: normalized, weight: w, bias: bias, geometry: g))
        expectClose(result, reference, absolute: 1e-4, relative: 1e-4, "against naive")
    }

    /// The planner's pointwise layers take it in a dense block (the bottleneck of ≥ 64 channels),
    /// strided ones keep the direct GEMM's prologue, and `runsPrologue` says which.
    @Test(.enabled(if: GEMMKernel.best.isAVX512, "the pointwise kernel needs AVX-512"))
    func runsAtStrideOneOnly() throws {
        let driver = PointwiseConvolution(threads: 2, kernel: .best)
        let plain = try Conv2DGeometry(inputShape: [1, 96, 8, 8], weightShape: [32, 96, 1, 1], options: Conv2DOptions())
        let strided = try Conv2DGeometry(inputShape: [1, 96, 8, 8], weightShape: [32, 96, 1, 1], options: Conv2DOptions(stride: 2))
        #expect(driver.runsPrologue(plain))
        #expect(!driver.runsPrologue(strided))
        // A strided pre-activation layer still gives the composition (through the direct GEMM).
        let device = DispatchDevice(threads: 2, fallback: nil)
        let x = Tensor.randomNormal(strided.inputShape, seed: 7)
        let w = Tensor.randomNormal(strided.weightShape, seed: 8)
        let prologue = BatchNormPrologueTests.prologue(channels: 96, activation: .relu, seed: 9)
        expectIdentical(device.conv2dForward(input: x, prologue: prologue, weight: w, bias: nil, epilogue: .none, geometry: strided),
                        device.conv2dForward(input: device.applying(prologue, to: x), weight: w, bias: nil, epilogue: .none, geometry: strided),
                        "strided")
    }
}
