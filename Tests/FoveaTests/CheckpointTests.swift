import Foundation
import Fovea
import FoveaTestSupport
import Testing

@Suite("Checkpoints and training on Fashion-MNIST")
struct CheckpointTests {
    static func fashion(_ split: MNISTDataset.Split, limit: Int) throws -> MNISTDataset {
        try MNISTDataset.load(folder: MNISTDataset.defaultFolder(), split: split, limit: limit)
    }

    @Test func saveLoadGivesIdenticalPredictions() throws {
        let folder = try DataFixtures.temporaryFolder("ckpt")
        let url = folder.appendingPathComponent("c.safetensors")
        let device = TestDevices.accelerated[1].device
        let model = try SmallModels.make("resnet-small", seed: 4)
        let optimizer = try SGD(model.allParameters, learningRate: 0.05, momentum: 0.9)
        let trainer = Trainer(model: model, optimizer: optimizer, device: device)
        let data = try Self.fashion(.test, limit: 64)
        try trainer.trainStep(Batch(images: data.images, labels: data.labels))
        try Checkpoint.save(model: model, optimizer: optimizer, metadata: ["fovea.epoch": "1"], to: url)
        model.eval()
        let expected = try model.forward(data.images, device: device)

        let restored = try SmallModels.make("resnet-small", seed: 99)
        let restoredOptimizer = try SGD(restored.allParameters, learningRate: 0.05, momentum: 0.9)
        let checkpoint = try Checkpoint.load(from: url)
        #expect(checkpoint.metadata["fovea.epoch"] == "1")
        #expect(checkpoint.optimizerState.keys.contains("conv1.weight.momentum_buffer"))
        try checkpoint.restore(into: restored, optimizer: restoredOptimizer)
        restored.eval()
        expectIdentical(try restored.forward(data.images, device: device), expected, "restored predictions")
        try? FileManager.default.removeItem(at: folder)
    }

    /// Training two epochs straight and training one, saving, restoring into a fresh model and
    /// optimiser, and training the second give the same losses step by step.
    @Test(arguments: ["sgd", "adam"])
    func resumeContinuesTheSameLossCurve(optimizerName: String) throws {
        let folder = try DataFixtures.temporaryFolder("resume")
        let url = folder.appendingPathComponent("c.safetensors")
        let device = TestDevices.accelerated[0].device
        let data = try Self.fashion(.train, limit: 96)
        func make() throws -> (Sequential, any Optimizer, DataLoader) {
            let model = try SmallModels.make("cnn-bn", seed: 5)
            let optimizer: any Optimizer = optimizerName == "sgd"
                ? try SGD(model.allParameters, learningRate: 0.05, momentum: 0.9, nesterov: true) : try Adam(model.allParameters, learningRate: 1e-3)
            return (model, optimizer, try DataLoader(data, batchSize: 32, augmentation: Augmentation(padding: 2, flipProbability: 0.5), seed: 8))
        }
        func epoch(_ model: Layer, _ optimizer: any Optimizer, _ loader: DataLoader, _ index: Int) throws -> [Float] {
            let trainer = Trainer(model: model, optimizer: optimizer, device: device)
            loader.epoch = index
            return try loader.map { try trainer.trainStep($0).loss }
        }
        let (straight, straightOptimizer, straightLoader) = try make()
        let expected = try epoch(straight, straightOptimizer, straightLoader, 0) + epoch(straight, straightOptimizer, straightLoader, 1)

        let (first, firstOptimizer, firstLoader) = try make()
        var losses = try epoch(first, firstOptimizer, firstLoader, 0)
        try Checkpoint.save(model: first, optimizer: firstOptimizer, metadata: ["fovea.epoch": "1"], to: url)
        let (resumed, resumedOptimizer, resumedLoader) = try make()
        try Checkpoint.load(from: url).restore(into: resumed, optimizer: resumedOptimizer)
        losses += try epoch(resumed, resumedOptimizer, resumedLoader, 1)
        #expect(losses == expected, "\(optimizerName): \(losses) vs \(expected)")
        try? FileManager.default.removeItem(at: folder)
    }

    /// A short run on 3,000 real Fashion-MNIST images with the default backend reaches well above
    /// chance (10%) on 1,000 held-out test images.
    @Test func shortTrainingRunLearnsFashionMNIST() throws {
        let device = try Devices.make("openblas")
        let train = try Self.fashion(.train, limit: 3000)
        let test = try Self.fashion(.test, limit: 1000)
        let model = try SmallModels.make("cnn-bn", seed: 1)
        let trainer = Trainer(model: model, optimizer: try SGD(model.allParameters, learningRate: 0.05, momentum: 0.9, nesterov: true), device: device)
        let loader = try DataLoader(train, batchSize: 50, seed: 1)
        for _ in 0..<2 { _ = try trainer.trainEpoch(loader) }
        let report = try trainer.evaluate(try DataLoader(test, batchSize: 250, shuffle: false))
        #expect(report.accuracy >= 0.70, "held-out accuracy \(report.accuracy)")
    }
}
