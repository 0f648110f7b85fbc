import Foundation
import Fovea

/// The training run that `CrashSafetyTests` kills over and over: a tiny CNN on synthetic data,
/// a checkpoint after every step. The test process and the child executable (`CrashDrillChild`)
/// build it from this one description, so the test can replay in-process exactly what the
/// killed children computed.
///
/// Model: `[8, 1, 12, 12]` images → Conv2D 1→4 (3×3, padding 1) → BatchNorm2D → ReLU →
/// MaxPool2D 2×2 → Flatten (144) → Linear 144→4; SGD with momentum 0.9 (so the optimiser has
/// state that a resume must restore); the naive device (deterministic, the same in every process).
public final class CrashDrillRun {
    public static let batchSize = 8
    public static let imageSize = 12
    public static let classes = 4
    /// Metadata key holding the number of steps taken when the checkpoint was written.
    public static let stepKey = "crashdrill.step"

    public let model: Sequential
    public let optimizer: SGD
    public let trainer: Trainer
    /// Optimisation steps taken so far (restored from the checkpoint on resume).
    public private(set) var step = 0

    /// A fresh run, or one resumed from `checkpoint` when the file exists.
    public init(resumingFrom checkpoint: URL? = nil) throws {
        model = try Sequential(named: [
            ("conv", try Conv2D(1, 4, kernelSize: 3, padding: 1, seed: 11)),
            ("bn", try BatchNorm2D(4)),
            ("relu", ReLU()),
            ("pool", try MaxPool2D(kernelSize: 2)),
            ("flatten", Flatten()),
            ("fc", try Linear(4 * 6 * 6, Self.classes, seed: 12)),
        ])
        _ = try model.build(inputShape: [Self.batchSize, 1, Self.imageSize, Self.imageSize])
        optimizer = try SGD(model.allParameters, learningRate: 0.05, momentum: 0.9)
        trainer = Trainer(model: model, optimizer: optimizer, device: NaiveDevice())
        if let checkpoint, FileManager.default.fileExists(atPath: checkpoint.path) {
            let loaded = try Checkpoint.load(from: checkpoint)
            guard let text = loaded.metadata[Self.stepKey], let saved = Int(text) else {
                throw FoveaError(.corruptFile, "\(checkpoint.path): no integer '\(Self.stepKey)' in the metadata")
            }
            try loaded.restore(into: model, optimizer: optimizer)
            step = saved
        }
    }

    /// The batch of step `step` (1-based): Gaussian images whose label is the quadrant holding a
    /// bright 3×3 spot, the same in every process.
    public static func batch(step: Int) -> Batch {
        var generator = SeededGenerator(seed: 0xC0FFEE &+ UInt64(step))
        var images = Tensor.randomNormal([batchSize, 1, imageSize, imageSize], standardDeviation: 0.5, using: &generator)
        var labels: [Int] = []
        for item in 0..<batchSize {
            let label = Int(generator.next() % UInt64(classes))
            labels.append(label)
            let (top, left) = (label / 2 * imageSize / 2 + 1, label % 2 * imageSize / 2 + 1)
            for row in top..<(top + 3) {
                for column in left..<(left + 3) {
                    let index = images.offset(of: [item, 0, row, column])
                    images.withUnsafeMutableBufferPointer { $0[index] += 2 }
                }
            }
        }
        return Batch(images: images, labels: labels)
    }

    /// Takes the next step; returns its loss.
    @discardableResult
    public func trainStep() throws -> Float {
        let result = try trainer.trainStep(Self.batch(step: step + 1))
        step += 1
        return result.loss
    }

    /// Writes the checkpoint (weights, optimiser state, step) atomically to `url`.
    public func save(to url: URL) throws {
        try Checkpoint.save(model: model, optimizer: optimizer, metadata: [Self.stepKey: String(step)], to: url)
    }

    /// Everything a checkpoint of this run stores, by the checkpoint's names: the state dict, and
    /// the optimiser state under `optimizer.<parameter>.<state>`.
    public func snapshot() -> [String: [Float]] {
        var result: [String: [Float]] = [:]
        for (name, tensor) in model.stateDict() { result[name] = tensor.scalars }
        let names = Dictionary(model.namedParameters().map { (ObjectIdentifier($0.parameter), $0.name) }, uniquingKeysWith: { a, _ in a })
        for (name, tensor) in optimizer.stateTensors(names: names) { result[Checkpoint.optimizerPrefix + name] = tensor.scalars }
        return result
    }

    /// The same view of a checkpoint read from disk.
    public static func snapshot(of checkpoint: Checkpoint) -> [String: [Float]] {
        var result: [String: [Float]] = [:]
        for (name, tensor) in checkpoint.weights { result[name] = tensor.scalars }
        for (name, tensor) in checkpoint.optimizerState { result[Checkpoint.optimizerPrefix + name] = tensor.scalars }
        return result
    }
}
