import Fovea
import FoveaDistributed
import Foundation

/// A few data-parallel steps on synthetic data, the state written after each: N ranks with the
/// global batch split between them must give what one process gives with the whole batch.
struct TrainingDrill {
    let world: Communicator?
    let output: URL
    let steps: Int

    init(world: Communicator?) {
        self.world = world
        output = URL(fileURLWithPath: option("out", "drill-out"))
        steps = number("steps", 5)
    }

    /// `count` images 3×8×8 in 4 classes, the same on every rank.
    static func data(count: Int = 48) throws -> MNISTDataset {
        let images = Tensor.randomNormal([count, 3, 8, 8], seed: 11)
        let labels = (0..<count).map { ($0 * 7 + 3) % 4 }
        return try MNISTDataset(images: images, labels: labels, classNames: ["a", "b", "c", "d"])
    }

    /// conv 3×3 8 → [BN] → ReLU → max pool 2 → conv 3×3 8 → [BN] → ReLU → flatten → linear 4;
    /// no dropout (its masks would differ between ranks).
    static func model(batchNorm: Bool) throws -> Sequential {
        var layers: [(String, Layer)] = [("conv1", try Conv2D(3, 8, kernelSize: 3, padding: 1, bias: !batchNorm, seed: 1))]
        if batchNorm { layers.append(("bn1", try BatchNorm2D(8))) }
        layers += [("relu1", ReLU()), ("pool", try MaxPool2D(kernelSize: 2)),
                   ("conv2", try Conv2D(8, 8, kernelSize: 3, padding: 1, bias: !batchNorm, seed: 2))]
        if batchNorm { layers.append(("bn2", try BatchNorm2D(8))) }
        layers += [("relu2", ReLU()), ("flatten", Flatten()), ("fc", try Linear(8 * 4 * 4, 4, seed: 3))]
        return try Sequential(named: layers)
    }

    func run() throws {
        let (rank, size) = (world?.rank ?? 0, world?.size ?? 1)
        let model = try Self.model(batchNorm: option("model", "plain") == "bn")
        if rank != 0 {  // different starting weights on the other ranks: DataParallel must replace them
            for parameter in model.allParameters { parameter.value *= 1.5 }
        }
        let optimizer: any Optimizer = option("optimizer", "sgd") == "adamw"
            ? try Adam.adamW(model.allParameters, learningRate: 0.01, weightDecay: 0.01)
            : try SGD(model.allParameters, learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4)
        let trainer = Trainer(model: model, optimizer: optimizer, device: Devices.current)
        let globalBatch = number("batch", 12)
        var shard = DatasetShard.whole
        if let world {
            let parallel = try DataParallel(model: model, communicator: world, bucketBytes: 2048, firstBucketBytes: 512,
                                            overlapsWithBackward: option("overlap", "on") == "on",
                                            progress: option("progress", "poll") == "thread" ? .thread(interval: 1e-4) : .polling)
            trainer.gradientSynchronizer = parallel
            if option("batchnorm", "local") == "sync" { model.synchronizeBatchNorm(over: world) }
            shard = try DatasetShard(index: rank, count: size)
            print("rank \(rank) start fingerprint \(StateFingerprint.of(model))")
            print("rank \(rank): buckets \(parallel.bucketSizes.map { "\($0.parameters)/\($0.bytes) B" }.joined(separator: ", "))")
        }
        // `DataLoader` takes the batch per rank; the global batch is that × ranks.
        let perRank = (globalBatch + size - 1) / size
        guard perRank * size == globalBatch else {
            throw FoveaError.invalidArgument("batch=\(globalBatch) is not a multiple of the \(size) ranks")
        }
        if world == nil { print("rank 0 start fingerprint \(StateFingerprint.of(model))") }
        let loader = try DataLoader(try Self.data(count: number("images", 48)), batchSize: perRank, shuffle: true, seed: 5, shard: shard)
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        var step = 0
        while step < steps {
            for batch in loader {
                guard step < steps else { break }
                try trainer.trainStep(batch)
                step += 1
                print("rank \(rank) step \(step) fingerprint \(StateFingerprint.of(model))")
                if rank == 0 {
                    try Checkpoint.save(model: model, to: output.appendingPathComponent("step-\(step).safetensors"))
                }
            }
        }
    }
}
