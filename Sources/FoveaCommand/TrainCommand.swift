import ArgumentParser
import Fovea
import FoveaDistributed
import Foundation

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a model on Fashion-MNIST, MNIST or a folder of your images (one sub-folder per class), evaluating after every epoch.")

    @OptionGroup var data: DatasetOptions
    @OptionGroup var folder: ImageFolderOptions
    @OptionGroup var devices: DeviceOptions

    @Option(help: "Model: \(SmallModels.names.joined(separator: ", ")), or a zoo model (resnet18 … resnet152, vgg…, densenet…; on Fashion-MNIST one that takes 28×28 images) (default: the one in the --resume checkpoint, else cnn-bn).")
    var model: String?
    @Option(help: "Epochs in total, 1 to 10000 (a resumed run continues up to this many).")
    var epochs: Int = 3
    @Option(name: .customLong("batch-size"), help: "Mini-batch size (1 to 65536).")
    var batchSize: Int = 64
    @Option(help: "Learning rate (above 0, at most 100); default 0.05 with sgd, 0.001 with adam and adamw (PyTorch's Adam default).")
    var lr: Float?
    @Option(help: "Optimizer: sgd (momentum 0.9, Nesterov), adam, adamw.")
    var optimizer: String = "sgd"
    @Option(name: .customLong("weight-decay"), help: "Weight decay (0 to 1).")
    var weightDecay: Float = 5e-4
    @Option(help: "Learning-rate schedule: none, cosine (per step, to zero at the end of the run), step (×0.1 every third of the epochs).")
    var schedule: String = "cosine"
    @Flag(help: "Augment: random crop with 2 pixels of padding and horizontal flips.")
    var augment = false
    @Option(name: .customLong("label-smoothing"), help: "Label smoothing ε (0 to 0.99).")
    var labelSmoothing: Float = 0
    @Option(help: "Seed for initialisation, shuffling and augmentation.")
    var seed: UInt64 = 1
    @Option(help: "Use only the first N training images.")
    var limit: Int?
    @Option(name: .customLong("test-limit"), help: "Evaluate on only the first N test images.")
    var testLimit: Int?
    @Option(help: "Train on these classes only, relabelled from 0, e.g. 5,6,7,8,9 or 5-9.")
    var classes: String?
    @Option(name: .customLong("per-class"), help: "Use at most N training images per class (few-shot experiments).")
    var perClass: Int?
    @Option(help: "Start from these pretrained weights (safetensors); the classification head is replaced.")
    var from: String?
    @Option(help: "Freeze part of the model: none or backbone (everything but the classification head).")
    var freeze: String = "none"
    @Option(name: .customLong("backbone-lr-scale"), help: "Learning-rate multiplier for the backbone (0 to 10, e.g. 0.1 when fine-tuning).")
    var backboneLRScale: Float = 1
    @Option(help: "Where to write the checkpoint (weights, optimizer state, epoch) after each epoch.")
    var out: String = "model.safetensors"
    @Option(help: "Resume from this checkpoint.")
    var resume: String?
    @Flag(help: "Data-parallel training on every process of an MPI job: mpirun -np N fovea train --distributed …. --batch-size is per process (the global batch is N times it); threads per process default to the host's cores ÷ its processes; rank 0 reads --from/--resume and shares them, prints and saves.")
    var distributed = false
    @Flag(name: .customLong("sync-batch-norm"), help: "With --distributed: batch norm with the statistics of the global batch over all processes, not of each process's part.")
    var syncBatchNorm = false

    func validate() throws {
        try OptionRange.check(epochs, 1...10000, flag: "--epochs")
        try OptionRange.check(batchSize, 1...OptionRange.largestBatch, flag: "--batch-size")
        if let lr { try OptionRange.check(lr, above: 0, atMost: 100, flag: "--lr") }
        try OptionRange.check(weightDecay, 0...1, flag: "--weight-decay")
        try OptionRange.check(labelSmoothing, 0...0.99, flag: "--label-smoothing")
        try OptionRange.check(backboneLRScale, 0...10, flag: "--backbone-lr-scale")
        try OptionRange.check(limit, atLeast: 1, flag: "--limit")
        try OptionRange.check(testLimit, atLeast: 1, flag: "--test-limit")
        try OptionRange.check(perClass, atLeast: 1, flag: "--per-class")
        guard ["sgd", "adam", "adamw"].contains(optimizer) else { throw ValidationError("--optimizer must be sgd, adam or adamw") }
        guard ["none", "cosine", "step"].contains(schedule) else { throw ValidationError("--schedule must be none, cosine or step") }
        guard ["none", "backbone"].contains(freeze) else { throw ValidationError("--freeze must be none or backbone") }
        guard freeze == "none" || from != nil || resume != nil else { throw ValidationError("--freeze backbone needs --from (pretrained weights)") }
        _ = try classList()
        try OutputPath.check(out, flag: "--out")
        guard !syncBatchNorm || distributed else { throw ValidationError("--sync-batch-norm needs --distributed") }
    }

    func run() throws {
        guard distributed else { return try train(in: .alone) }
        let job = try TrainingJob.joinMPI()
        do {
            try job.checkSameArguments()
            try train(in: job)
        } catch {
            try job.fail(error)
        }
        job.finish()
    }

    func train(in job: TrainingJob) throws {
        let device = try devices.makeDevice(defaultThreads: job.defaultThreads, announce: job.isLeader)
        if let warning = job.bindingWarning(threads: device.threadCount) { printError(warning) }
        defer { if job.isLeader { printCheckReport(device) } }
        let pretrained = try from.map { (name: $0, checkpoint: try job.loadCheckpoint($0)) }
        let resumed = try resume.map { (name: $0, checkpoint: try job.loadCheckpoint($0)) }
        let model = self.model ?? resumed?.checkpoint.metadata["fovea.model"] ?? "cnn-bn"
        let data = try TrainingData.forTraining(self.data, folder, model: model, pretrained: pretrained, resumed: resumed,
                                                limit: limit, testLimit: testLimit, classes: classList(), perClass: perClass)
        let (train, test, input) = (data.train, data.test, data.preparation)
        let network = try BuiltInModels.make(model, classes: input.classNames.count, inputChannels: input.channels.rawValue, seed: seed)
        try network.build(inputShape: [batchSize, input.channels.rawValue, input.size, input.size])
        if let pretrained {
            try network.loadBackbone(pretrained.checkpoint.weights)
            if job.isLeader { printError("loaded the backbone of \(pretrained.name); new head \(network.classifierPath ?? "?") with \(train.classNames.count) classes") }
        }
        if freeze == "backbone" { network.freezeBackbone() }
        let optimizer = try makeOptimizer(network)
        var firstEpoch = 0
        if let resume, let checkpoint = resumed?.checkpoint {
            if let stored = checkpoint.metadata["fovea.model"], stored != model {
                throw FoveaError.invalidArgument("\(resume) holds a '\(stored)' model, not '\(model)'; leave out --model to resume it")
            }
            if let stored = checkpoint.metadata["fovea.optimizer"] {
                guard stored == self.optimizer else {
                    throw FoveaError.invalidArgument("\(resume) was trained with the optimizer '\(stored)', not '\(self.optimizer)'; give --optimizer \(stored) to resume it")
                }
            } else if job.isLeader {
                printError("warning: \(resume) does not record its optimizer (fovea.optimizer); resuming with '\(self.optimizer)' — give the --optimizer it was trained with")
            }
            try checkpoint.restore(into: network, optimizer: optimizer)
            firstEpoch = Int(checkpoint.metadata["fovea.epoch"] ?? "0") ?? 0
            if job.isLeader { printError("resumed \(resume) after epoch \(firstEpoch)") }
        }
        let trainer = Trainer(model: network, optimizer: optimizer, loss: try SoftmaxCrossEntropy(labelSmoothing: labelSmoothing), device: device)
        let parallel = try job.world.map { try DataParallel(model: network, communicator: $0) }
        trainer.gradientSynchronizer = parallel
        if syncBatchNorm { network.synchronizeBatchNorm(over: job.world) }
        let loader = try DataLoader(train, batchSize: batchSize, shuffle: true,
                                    augmentation: augment ? Augmentation(padding: 2, flipProbability: 0.5) : .none, seed: seed, shard: job.shard())
        let testLoader = try DataLoader(test, batchSize: 256, shuffle: false, shard: job.shard())
        defer { fflush(nil) }
        job.say("fovea train: \(model), \(network.parameterCount) parameters, \(train.count) training and \(test.count) test images, device \(Devices.describe(device))")
        job.say("data: \(data.source), \(input.classNames.count) classes, \(input.summary)")
        if let parallel {
            job.say("distributed: \(job.size) processes, \(batchSize) images each per step (global batch \(loader.globalBatchSize)), \(parallel.bucketSizes.count) gradient buckets, batch norm \(syncBatchNorm ? "synchronized" : "per process")")
        }
        for epoch in firstEpoch..<epochs {
            loader.epoch = epoch
            var progress = job.isLeader ? ProgressBar(total: loader.batchCount, label: "epoch \(epoch + 1)/\(epochs)") : nil
            var (lossSum, correct, images) = (0.0, 0, 0)
            let start = Date()
            let iterator = loader.makeIterator()
            var batchIndex = 0
            while let batch = iterator.next() {
                optimizer.learningRate = try learningRate(step: epoch * loader.batchCount + batchIndex, stepsPerEpoch: loader.batchCount)
                batchIndex += 1
                let step = try trainer.trainStep(batch)
                lossSum += Double(step.loss) * Double(batch.labels.count)
                correct += step.correct
                images += batch.labels.count
                progress?.update(done: images / batchSize + (images % batchSize == 0 ? 0 : 1), loss: lossSum / Double(images),
                                accuracy: Double(correct) / Double(images), images: images)
            }
            if let error = iterator.error { throw error }
            let seconds = Date().timeIntervalSince(start)
            try parallel?.broadcastBuffers()  // evaluate (and save) rank 0's running statistics
            let local = try trainer.evaluate(testLoader, classNames: test.classNames)
            let totals = try job.sum([lossSum, Double(correct), Double(images), local.loss * Double(local.images),
                                      (local.accuracy * Double(local.images)).rounded(), Double(local.images)], label: "the epoch's totals")
            let evaluation = (loss: totals[3] / max(totals[5], 1), accuracy: totals[4] / max(totals[5], 1))
            job.say(String(format: "epoch %d/%d: train loss %.4f, train accuracy %.2f%%, test loss %.4f, test accuracy %.2f%%, %.1f s (%.0f images/s), lr %.4g",
                           epoch + 1, epochs, totals[0] / totals[2], 100 * totals[1] / totals[2],
                           evaluation.loss, evaluation.accuracy * 100, seconds, totals[2] / seconds, optimizer.learningRate))
            guard job.isLeader else { continue }
            try Checkpoint.save(model: network, optimizer: optimizer, metadata: [
                "fovea.model": model, "fovea.optimizer": self.optimizer, "fovea.epoch": String(epoch + 1), "fovea.seed": String(seed),
                "fovea.test_accuracy": String(format: "%.4f", evaluation.accuracy), "fovea.format": "checkpoint-1",
            ].merging(input.metadata) { kept, _ in kept }, to: URL(fileURLWithPath: out))
        }
        job.say("saved \(out)")
    }

    /// `--lr`, else the optimizer's default: SGD's 0.05 diverges with Adam (which scales each step
    /// to about the learning rate), so Adam and AdamW start from PyTorch's 0.001.
    var baseLearningRate: Float { lr ?? (optimizer == "sgd" ? 0.05 : 1e-3) }

    func makeOptimizer(_ network: Layer) throws -> any Optimizer {
        let lr = baseLearningRate
        let groups = [ParameterGroup(network.backboneParameters, learningRateScale: backboneLRScale),
                      ParameterGroup(network.classifier?.allParameters ?? [])]
        switch optimizer {
        case "adam": return try Adam(groups, learningRate: lr, weightDecay: weightDecay)
        case "adamw": return try Adam.adamW(groups, learningRate: lr, weightDecay: weightDecay)
        default: return try SGD(groups, learningRate: lr, momentum: 0.9, nesterov: true, weightDecay: weightDecay)
        }
    }

    /// `--classes` as a list: "5,6,7" or "5-9".
    func classList() throws -> [Int]? {
        guard let classes else { return nil }
        var result: [Int] = []
        for part in classes.split(separator: ",") {
            let bounds = part.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !bounds.isEmpty, bounds.allSatisfy({ $0 != nil && $0! >= 0 }), bounds.count <= 2 else {
                throw ValidationError("--classes takes numbers and ranges like 0,2,4 or 5-9; got '\(classes)'")
            }
            if let large = bounds.first(where: { $0! >= OptionRange.largestClassCount }) {
                throw ValidationError("--classes: class numbers must be between 0 and \(OptionRange.largestClassCount - 1), got \(large!)")
            }
            result += bounds.count == 2 ? Array(bounds[0]!...max(bounds[0]!, bounds[1]!)) : [bounds[0]!]
        }
        return result
    }

    /// The rate at optimisation step `step` (counted over the whole run).
    func learningRate(step: Int, stepsPerEpoch: Int) throws -> Float {
        let lr = baseLearningRate
        return switch schedule {
        case "cosine": try CosineAnnealing(totalSteps: epochs * stepsPerEpoch).learningRate(base: lr, step: step)
        case "step": try StepDecay(stepSize: max(1, epochs / 3) * stepsPerEpoch).learningRate(base: lr, step: step)
        default: lr
        }
    }
}
