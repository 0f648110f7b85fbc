import Fovea
import FoveaTestSupport
import Testing

/// Issue #17, whole networks: a residual network built from the zoo's blocks gives bit-identical
/// logits (evaluation and training mode) and parameter gradients at 1–8 threads on `dispatch`.
/// Its layers include ones whose automatic Winograd/direct choice used to follow the thread count
/// (128→64 3×3 @14 forward, 64→64 3×3 @14 backward-data, batch 1: F(2×2) at 1–2 threads, the
/// direct GEMM at 3 or more), so before the fix both logits and gradients differed from 3 threads on.
@Suite("Whole networks do not depend on the thread count")
struct ThreadCountNetworkTests {
    /// 28×28 RGB → strided stem (shifted image, phase planes) → a basic block 128→64 with a 1×1
    /// downsample at 14×14 → a strided basic block at 7×7 → max pool → global average pool → linear.
    static func network() throws -> Sequential {
        try Sequential(named: [
            ("conv1", try Conv2D(3, 128, kernelSize: 3, stride: 2, padding: 1, bias: false, seed: 1)),
            ("bn1", try BatchNorm2D(128)),
            ("relu", ReLU()),
            ("block1", try BasicBlock(128, 64, seed: 2)),
            ("block2", try BasicBlock(64, 64, stride: 2, seed: 3)),
            ("maxpool", try MaxPool2D(kernelSize: 3, stride: 2, padding: 1)),
            ("avgpool", try AdaptiveAvgPool2D(outputSize: 1)),
            ("flatten", Flatten()),
            ("fc", try Linear(64, 10, seed: 4)),
        ])
    }

    @Test func residualNetworkLogitsAndGradients() throws {
        let images = Tensor.randomNormal([1, 3, 28, 28], seed: 17)
        try ThreadedBackend.expectSameBits("residual network", make: { DispatchDevice(threads: $0, fallback: NaiveDevice()) }) { device in
            let model = try Self.network()
            model.eval()
            let evaluation = try! model.forward(images, device: device)
            model.train()
            let logits = try! model.forward(images, device: device)
            let loss = try! SoftmaxCrossEntropy()(logits: logits, labels: [3], device: device)
            _ = try! model.backward(loss.gradient, device: device)
            return [evaluation, logits] + model.allParameters.map { $0.gradient ?? Tensor(zeros: [0]) }
        }
    }
}
