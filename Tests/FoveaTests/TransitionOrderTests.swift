@testable import Fovea
import FoveaTestSupport
import Testing

/// DenseNet's transition pools before its 1×1 convolution when fusion is on: the same outputs and
/// gradients as torchvision's order (conv, then pool) within float rounding, with the convolution
/// on a quarter of the positions.
@Suite("DenseNet transition: pool before the 1×1 convolution")
struct TransitionOrderTests {
    static func makeTransition() throws -> Transition {
        let transition = try Transition(inputChannels: 6, outputChannels: 4, seed: 3)
        LayerFusionTests.randomize(transition.norm, seed: 9)
        return transition
    }

    /// Odd sizes too: the pool drops the last row and column, before or after the convolution alike.
    @Test(arguments: TestDevices.all)
    func forwardAndBackwardMatchTorchvisionsOrder(device: LabeledDevice) throws {
        for shape: Shape in [[2, 6, 8, 8], [1, 6, 7, 9]] {
            let input = Tensor.randomNormal(shape, seed: 1)
            let transition = try Self.makeTransition()
            for training in [false, true] {
                training ? transition.train() : transition.eval()
                let expected = try LayerFusion.withoutFusion { try transition.forward(input, device: device.device) }
                let actual = try LayerFusion.withFusion { try transition.forward(input, device: device.device) }
                expectClose(actual, expected, absolute: 1e-5, relative: 1e-5, "\(device) \(shape) training \(training) forward")
                guard training else { continue }
                let gradOutput = Tensor.randomNormal(expected.shape, seed: 2)
                func gradients(fusion: Bool) throws -> [Tensor] {
                    transition.zeroGradients()
                    let run = { try LayerFusion.$scopedEnabled.withValue(fusion) {
                        _ = try transition.forward(input, device: device.device)
                        return try transition.backward(gradOutput, device: device.device)
                    } }
                    let gradInput = try run()
                    return [gradInput] + transition.allParameters.map { $0.gradient ?? Tensor(zeros: [1]) }
                }
                for (actual, expected) in zip(try gradients(fusion: true), try gradients(fusion: false)) {
                    expectClose(actual, expected, absolute: 1e-4, relative: 1e-4, "\(device) \(shape) gradient")
                }
            }
        }
    }

    /// The convolution runs on the pooled positions (a quarter of FLOPs), after the pool (which in
    /// evaluation mode applies the batch norm and ReLU as it reads).
    @Test func convolutionRunsOnThePooledImage() throws {
        let transition = try Self.makeTransition()
        transition.eval()
        let profiling = ProfilingDevice(subject: try Devices.make("dispatch", threads: 1))
        _ = try LayerFusion.withFusion { try transition.scopedForward(Tensor.randomNormal([1, 6, 8, 8], seed: 1), device: profiling) }
        let operations = profiling.log.all.map(\.operation)
        #expect(operations == ["batchNorm+avgPool2dForward", "conv2dForward"], "\(operations)")
        #expect(profiling.log.all.last?.shapes == "1×6×4×4 → 1×4×4×4, 1×1")
    }
}
