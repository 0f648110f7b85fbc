import Fovea
import Testing

/// The training loop of Docs/Training.md ("A complete training loop"), as written there: it must
/// converge (the previous SGD at learning rate 0.05 diverged to a mean loss of 17, then ln 10).
@Suite("Docs/Training.md example")
struct DocsTrainingExampleTests {
    @Test func exampleLoopConverges() throws {
        let device = try Devices.make("openblas")
        let train = try MNISTDataset.load(folder: MNISTDataset.defaultFolder(), split: .train, limit: 512)
        let trainingBatches = try DataLoader(train, batchSize: 64, seed: 0)
        let model = try Sequential(named: [
            ("conv1", Conv2D(1, 32, kernelSize: 3, padding: 1)), ("bn1", BatchNorm2D(32)), ("relu1", ReLU()),
            ("pool1", MaxPool2D(kernelSize: 2)),
            ("conv2", Conv2D(32, 64, kernelSize: 3, padding: 1)), ("bn2", BatchNorm2D(64)), ("relu2", ReLU()),
            ("pool2", MaxPool2D(kernelSize: 2)),
            ("flatten", Flatten()), ("fc", Linear(64 * 7 * 7, 10)),
        ])
        try model.build(inputShape: [64, 1, 28, 28])

        let optimizer = try Adam(model.allParameters, learningRate: 1e-3)
        let lossFunction = try SoftmaxCrossEntropy(labelSmoothing: 0.1)
        let schedule = try CosineAnnealing(totalSteps: 3)

        var means: [Float] = []
        for epoch in 0..<3 {
            model.train()
            optimizer.learningRate = schedule.learningRate(base: 1e-3, step: epoch)
            var total: Float = 0
            for batch in trainingBatches {
                optimizer.zeroGradients()
                let logits = try model.forward(batch.images, device: device)
                let loss = try lossFunction(logits: logits, labels: batch.labels, device: device)
                _ = try model.backward(loss.gradient, device: device)
                optimizer.step()
                total += loss.loss
            }
            means.append(total / Float(trainingBatches.batchCount))
        }
        // The doc states about 1.7, 1.1 and 0.96.
        #expect(means.allSatisfy { $0.isFinite }, "\(means)")
        #expect(means[0] < 2.0 && means[1] < means[0] && means[2] < means[1], "\(means)")
        #expect(means[2] < 1.05, "\(means)")
    }
}
