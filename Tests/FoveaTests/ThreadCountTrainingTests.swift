import Fovea
import FoveaTestSupport
import Testing

/// Issue #8 item 2, training: with a fixed seed, a few SGD steps give bit-identical loss
/// sequences and final weights, biases and running statistics at 1 to 8 threads, on
/// `dispatch` and `openblas`.
@Suite("Training does not depend on the thread count")
struct ThreadCountTrainingTests {
    static let backends = ThreadedBackend.all.filter { $0.workspaceBytesPerWorker == nil }

    /// Seeded random images with seeded random labels.
    static func batches(count: Int, shape: Shape, classes: Int, seed: UInt64) -> [Batch] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            let images = Tensor.randomNormal(shape, using: &generator)
            let labels = (0..<shape[0]).map { _ in Int(generator.next() % UInt64(classes)) }
            return Batch(images: images, labels: labels)
        }
    }

    /// A small residual network with batch norm, dropout and adaptive pooling.
    static func residualModel() throws -> Sequential {
        try Sequential(named: [
            ("conv1", try Conv2D(3, 16, kernelSize: 3, padding: 1, bias: false, seed: 5)),
            ("bn1", try BatchNorm2D(16)),
            ("relu", ReLU()),
            ("block1", try BasicBlock(16, 16, seed: 6)),
            ("block2", try BasicBlock(16, 32, stride: 2, seed: 7)),
            ("pool", try AdaptiveAvgPool2D(outputSize: 2)),
            ("flatten", Flatten()),
            ("dropout", try Dropout(probability: 0.2, seed: 8)),
            ("fc", try Linear(32 * 2 * 2, 5, seed: 9)),
        ])
    }

    /// Trains a fresh model for one step per batch; returns the losses and the final state
    /// (parameters and running statistics).
    static func train(_ makeModel: () throws -> Sequential, on batches: [Batch], device: any Device) throws -> (losses: [Float], state: [Tensor]) {
        let model = try makeModel()
        let trainer = Trainer(model: model, optimizer: try SGD(model.allParameters, learningRate: 0.05, momentum: 0.9), device: device)
        let losses = try batches.map { try trainer.trainStep($0).loss }
        return (losses, model.stateDict().map(\.tensor))
    }

    static func expectSameTraining(_ backend: ThreadedBackend, _ makeModel: () throws -> Sequential, batches: [Batch], _ what: String) throws {
        let runs = try ThreadedBackend.threadCounts.map { try train(makeModel, on: batches, device: backend.make(threads: $0)) }
        let finite = runs[0].losses.allSatisfy { $0.isFinite }
        #expect(finite, "\(backend) \(what): losses \(runs[0].losses)")
        let reference = runs[0].losses.map { $0.bitPattern }
        for (index, threads) in ThreadedBackend.threadCounts.enumerated().dropFirst() {
            let bits = runs[index].losses.map { $0.bitPattern }
            #expect(bits == reference, "\(backend) \(what): losses at \(threads) threads \(runs[index].losses) vs 1 thread \(runs[0].losses)")
            #expect(runs[index].state.count == runs[0].state.count)
            for (part, (actual, reference)) in zip(runs[index].state, runs[0].state).enumerated() {
                expectIdentical(actual, reference, "\(backend) \(what): state tensor \(part) at \(threads) threads vs 1")
            }
        }
    }

    /// `cnn-bn` (convolutions, batch norm, max pooling, a 3136→1024 linear layer, dropout) on
    /// 28×28 images.
    @Test(arguments: backends)
    func convNetWithBatchNorm(backend: ThreadedBackend) throws {
        let batches = Self.batches(count: 3, shape: [8, 1, 28, 28], classes: 10, seed: 71)
        try Self.expectSameTraining(backend, { try SmallModels.make("cnn-bn", seed: 3) }, batches: batches, "cnn-bn")
    }

    /// A residual network with batch norm, dropout and adaptive average pooling on 16×16 RGB images.
    @Test(arguments: backends)
    func residualNetworkWithDropout(backend: ThreadedBackend) throws {
        let batches = Self.batches(count: 4, shape: [6, 3, 16, 16], classes: 5, seed: 72)
        try Self.expectSameTraining(backend, Self.residualModel, batches: batches, "residual network")
    }
}
