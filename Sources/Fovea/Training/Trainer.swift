import Foundation

/// A mini-batch: images `[N, C, H, W]` and one class label per image.
public struct Batch: Sendable {
    public var images: Tensor
    public var labels: [Int]

    public init(images: Tensor, labels: [Int]) {
        self.images = images
        self.labels = labels
    }
}

/// What one epoch of training measured.
public struct EpochReport: Sendable, CustomStringConvertible {
    public var epoch: Int
    public var loss: Double
    public var accuracy: Double
    public var images: Int
    public var seconds: Double
    public var imagesPerSecond: Double { Double(images) / max(seconds, 1e-9) }
    public var learningRate: Float

    public var description: String {
        String(format: "epoch %d: loss %.4f, accuracy %.2f%%, %.1f images/s, lr %g", epoch, loss, accuracy * 100, imagesPerSecond, learningRate)
    }
}

/// What an evaluation pass measured.
public struct EvaluationReport: Sendable, CustomStringConvertible {
    public var loss: Double
    public var accuracy: Double
    public var images: Int
    public var confusion: ConfusionMatrix?

    public var description: String { String(format: "loss %.4f, accuracy %.2f%% on %d images", loss, accuracy * 100, images) }
}

/// The training loop in a few lines: forward, loss, backward, optimiser step, with loss,
/// accuracy and throughput per epoch. A loss that becomes NaN or infinite stops training with an
/// error naming the step.
///
///     let trainer = Trainer(model: model, optimizer: try SGD(model.allParameters, learningRate: 0.1, momentum: 0.9))
///     for epoch in 0..<10 { print(try trainer.trainEpoch(batches)) }
public final class Trainer {
    public let model: Layer
    public let optimizer: any Optimizer
    public var loss: SoftmaxCrossEntropy
    public let device: any Device
    /// Applied per epoch to the optimiser's base learning rate.
    public var schedule: (any LearningRateSchedule)?
    public let baseLearningRate: Float
    /// Steps taken so far (across epochs).
    public private(set) var step = 0
    public private(set) var epoch = 0
    /// Combines this replica's gradients with those of the others in a data-parallel job
    /// (`DataParallel` in FoveaDistributed); nil when this model trains alone.
    public var gradientSynchronizer: (any GradientSynchronizer)?

    public init(model: Layer, optimizer: any Optimizer, loss: SoftmaxCrossEntropy = SoftmaxCrossEntropy(),
                device: any Device = Devices.current, schedule: (any LearningRateSchedule)? = nil) {
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.device = device
        self.schedule = schedule
        baseLearningRate = optimizer.learningRate
    }

    /// One optimisation step on one batch; returns the loss and the number classified right.
    @discardableResult
    public func trainStep(_ batch: Batch) throws -> (loss: Float, correct: Int) {
        try trainStep(batch, phaseClock: nil)
    }

    /// `trainStep`, calling `phaseClock` after each phase with its name (`forward`, `loss`,
    /// `backward`, `optimizer step`) and its wall-clock seconds (`ModelProfiler`).
    func trainStep(_ batch: Batch, phaseClock: ((String, Double) -> Void)?) throws -> (loss: Float, correct: Int) {
        var clock = PhaseClock(report: phaseClock)
        model.train()
        optimizer.zeroGradients()
        let logits = try model.scopedForward(batch.images, device: device)
        clock.end("forward")
        let result = try OperationScope.run("loss", device: device) { try loss(logits: logits, labels: batch.labels, device: device) }
        clock.end("loss")
        step += 1
        guard result.loss.isFinite else {
            throw FoveaError(.numerical, "training stopped: the loss became \(result.loss) at step \(step) (epoch \(epoch + 1)); lower the learning rate or check the data")
        }
        var gradient = result.gradient
        if let gradientSynchronizer {
            let share = try gradientSynchronizer.beginBackward(localImages: batch.labels.count)
            if share != 1 { gradient *= share }
        }
        // The input is the data: its gradient is never used, so the first layer skips it.
        try model.scopedBackwardWithoutInputGradient(gradient, device: device)
        try gradientSynchronizer?.finishBackward()
        clock.end("backward")
        Devices.with(device) { optimizer.step() }  // the update runs on the device's threads
        clock.end("optimizer step")
        return (result.loss, result.correct)
    }

    /// One pass over `batches`, with the schedule's learning rate for this epoch.
    public func trainEpoch<S: Sequence>(_ batches: S, progress: ((Int, Float) -> Void)? = nil) throws -> EpochReport where S.Element == Batch {
        if let schedule { optimizer.learningRate = schedule.learningRate(base: baseLearningRate, step: epoch) }
        let start = Date()
        var totalLoss: Double = 0, correct = 0, images = 0, batchCount = 0
        for batch in batches {
            let result = try trainStep(batch)
            totalLoss += Double(result.loss) * Double(batch.labels.count)
            correct += result.correct
            images += batch.labels.count
            batchCount += 1
            progress?(batchCount, result.loss)
        }
        epoch += 1
        return EpochReport(epoch: epoch, loss: totalLoss / Double(max(images, 1)), accuracy: Double(correct) / Double(max(images, 1)),
                           images: images, seconds: Date().timeIntervalSince(start), learningRate: optimizer.learningRate)
    }

    /// Loss and accuracy over `batches` in evaluation mode (the model is left in evaluation mode).
    public func evaluate<S: Sequence>(_ batches: S, classNames: [String]? = nil) throws -> EvaluationReport where S.Element == Batch {
        model.eval()
        var totalLoss: Double = 0, correct = 0, images = 0
        var confusion: ConfusionMatrix?
        for batch in batches {
            let logits = try model.scopedForward(batch.images, device: device)
            let result = try OperationScope.run("loss", device: device) { try loss(logits: logits, labels: batch.labels, device: device) }
            if confusion == nil { confusion = ConfusionMatrix(classes: logits.shape[1], classNames: classNames) }
            confusion!.add(logits: logits, labels: batch.labels)
            totalLoss += Double(result.loss) * Double(batch.labels.count)
            correct += result.correct
            images += batch.labels.count
        }
        return EvaluationReport(loss: totalLoss / Double(max(images, 1)), accuracy: Double(correct) / Double(max(images, 1)),
                                images: images, confusion: confusion)
    }
}
