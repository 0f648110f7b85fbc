@testable import Fovea
@testable import FoveaDispatch
import FoveaTestSupport
import Testing

/// `conv2dForward(parts:prologue:…)`: DenseNet's bottleneck reading the block's features from the
/// parts they were made in, without concatenating them. On every backend it equals the same
/// device's concatenation followed by `conv2dForward(input:prologue:…)`, bit for bit; Dispatch's
/// direct GEMM packs its panels from the parts. A dense block in evaluation mode concatenates once.
@Suite("Dense block features kept in parts")
struct DenseBlockPartsTests {
    /// Pointwise layers split into parts that cross depth blocks (tiny blocks of 5 steps, and the
    /// real 256 with 300 channels): per image (40×40 = 1600 positions) and with images as columns
    /// (6×6, 9×11); and a 3×3 layer, which every device runs on the concatenation.
    static let cases: [(parts: [Int], batch: Int, height: Int, width: Int, outputs: Int, kernel: Int)] = [
        ([16, 8, 16], 1, 9, 11, 24, 1),
        ([7, 1, 32], 3, 6, 6, 16, 1),
        ([24, 16], 2, 40, 40, 12, 1),
        ([64, 32, 32, 32, 32, 32, 32, 32, 32], 2, 7, 7, 40, 1),
        ([5, 3], 2, 7, 7, 12, 3),
    ]

    static func expectPartsMatchConcatenation(_ device: any Device, _ label: String) throws {
        for (index, c) in cases.enumerated() {
            let channels = c.parts.reduce(0, +)
            let g = try Conv2DGeometry(inputShape: [c.batch, channels, c.height, c.width], weightShape: [c.outputs, channels, c.kernel, c.kernel],
                                       options: Conv2DOptions(padding: Size2D(c.kernel / 2)))
            let parts = c.parts.enumerated().map { Tensor.randomNormal([c.batch, $0.element, c.height, c.width], seed: UInt64(10 * index + $0.offset)) }
            let w = Tensor.randomNormal(g.weightShape, seed: UInt64(index + 100))
            for (activation, bias, epilogue) in BatchNormPrologueTests.fusions(outputs: c.outputs) {
                let prologue = BatchNormPrologueTests.prologue(channels: channels, activation: activation, seed: UInt64(20 + index))
                let expected = device.conv2dForward(input: device.concatenateChannels(parts), prologue: prologue, weight: w, bias: bias,
                                                    epilogue: epilogue, geometry: g)
                let actual = device.conv2dForward(parts: parts, prologue: prologue, weight: w, bias: bias, epilogue: epilogue, geometry: g)
                expectIdentical(actual, expected, "\(label), parts \(c.parts), \(g), \(epilogue)")
            }
        }
    }

    @Test(arguments: TestDevices.all)
    func everyBackendMatchesTheConcatenation(device: LabeledDevice) throws {
        try Self.expectPartsMatchConcatenation(device.device, device.description)
    }

    /// Dispatch's direct GEMM packing from the parts, at every thread count, with every native
    /// kernel this CPU runs (AVX-512's 32-column and AVX2's 16-column C packers) and tiny cache blocks.
    @Test func dispatchDirectPacksFromTheParts() throws {
        for threads in [1, 2, 3, 8] {
            for kernel in GEMMKernel.available.filter(\.isNative) + [TestDevices.tinyBlocks] {
                let device = DispatchDevice(threads: threads, fallback: NaiveDevice(), kernel: kernel,
                                            algorithms: ConvolutionAlgorithmOverride([.forward: .direct]))
                try Self.expectPartsMatchConcatenation(device, "dispatch ×\(threads) direct \(kernel.name)")
            }
        }
    }

    /// A dense block in evaluation mode with fusion: each layer's bottleneck reads the parts, the
    /// block concatenates once at the end, and the output matches the unfused block.
    @Test func evaluationConcatenatesOnce() throws {
        let block = try DenseBlock(layers: 4, inputChannels: 20, growthRate: 6, seed: 7)
        for (index, entry) in block.namedLayers().enumerated() {
            if let norm = entry.layer as? BatchNorm2D { LayerFusionTests.randomize(norm, seed: UInt64(index)) }
        }
        block.eval()
        let x = Tensor.randomNormal([2, 20, 9, 9], seed: 8)
        let profiling = ProfilingDevice(subject: try Devices.make("dispatch", threads: 2))
        let fused = try LayerFusion.withFusion { try block.scopedForward(x, device: profiling) }
        let operations = profiling.log.all.map(\.operation)
        #expect(operations.filter { $0.hasPrefix("concatenate") }.count == 1, "\(operations)")
        #expect(operations.filter { $0 == "batchNorm+conv2dForward(parts)" }.count == 4, "\(operations)")
        #expect(fused.shape == [2, 44, 9, 9])
        let unfused = try LayerFusion.withoutFusion { try block.forward(x, device: try Devices.make("dispatch", threads: 2)) }
        expectClose(fused, unfused, absolute: 1e-5, relative: 1e-4, "dense block")
    }
}
