// ResearchDemo: what a researcher's first program with Fovea looks like, written against Fovea's
// public API only.
//
// It makes a seeded synthetic data set (16×16 images of unit Gaussian noise with a 4×4 spot 1.5
// brighter in one of the four quadrants; the label is the quadrant), builds a small CNN, trains it
// for a few steps with an explicit loop (forward, softmax cross-entropy, backward, Adam step),
// prints the loss of every step, saves and reloads a checkpoint, and exits with status 1 if the
// loss did not go down.
//
//     swift run --package-path Examples/ResearchDemo            # FOVEA_DEVICE picks the backend
import Fovea
import Foundation

let imageSize = 16, classes = 4, batchSize = 16, steps = 30

/// `count` images `[count, 1, 16, 16]` and their labels, the same for the same seed.
func syntheticBatch(count: Int, seed: UInt64) -> Batch {
    var generator = SeededGenerator(seed: seed)
    var images = Tensor.randomNormal([count, 1, imageSize, imageSize], standardDeviation: 1, using: &generator)
    var labels: [Int] = []
    images.withUnsafeMutableBufferPointer { pixels in
        for item in 0..<count {
            let label = Int(generator.next() % UInt64(classes))
            labels.append(label)
            let top = label / 2 * imageSize / 2 + Int(generator.next() % 4)
            let left = label % 2 * imageSize / 2 + Int(generator.next() % 4)
            for row in top..<(top + 4) {
                for column in left..<(left + 4) { pixels[(item * imageSize + row) * imageSize + column] += 1.5 }
            }
        }
    }
    return Batch(images: images, labels: labels)
}

/// conv 3×3 (8) → BN → ReLU → max-pool 2 → conv 3×3 (16) → BN → ReLU → max-pool 2 → linear 256→4.
func makeModel(seed: UInt64) throws -> Sequential {
    try Sequential(named: [
        ("conv1", try Conv2D(1, 8, kernelSize: 3, padding: 1, seed: seed)),
        ("bn1", try BatchNorm2D(8)),
        ("relu1", ReLU()),
        ("pool1", try MaxPool2D(kernelSize: 2)),
        ("conv2", try Conv2D(8, 16, kernelSize: 3, padding: 1, seed: seed + 1)),
        ("bn2", try BatchNorm2D(16)),
        ("relu2", ReLU()),
        ("pool2", try MaxPool2D(kernelSize: 2)),
        ("flatten", Flatten()),
        ("fc", try Linear(16 * 4 * 4, classes, seed: seed + 2)),
    ])
}

do {
    let device = try Devices.fromEnvironment()
    let model = try makeModel(seed: 1)
    let output = try model.build(inputShape: [batchSize, 1, imageSize, imageSize])
    print("ResearchDemo: \(model.parameterCount) parameters, output \(output), device \(Devices.describe(device))")

    let optimizer = try Adam(model.allParameters, learningRate: 0.01)
    let loss = SoftmaxCrossEntropy()
    var losses: [Float] = []
    for step in 1...steps {
        let batch = syntheticBatch(count: batchSize, seed: UInt64(step))
        model.train()
        optimizer.zeroGradients()
        let logits = try model.forward(batch.images, device: device)
        let result = try loss(logits: logits, labels: batch.labels, device: device)
        _ = try model.backward(result.gradient, device: device)
        optimizer.step()
        losses.append(result.loss)
        print(String(format: "step %2d: loss %.4f, %2d/%d right", step, result.loss, result.correct, batchSize))
    }

    // A checkpoint round trip: a fresh model restored from the file predicts exactly the same.
    let test = syntheticBatch(count: 64, seed: 1000)
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("research-demo-\(getpid()).safetensors")
    defer { try? FileManager.default.removeItem(at: url) }
    try Checkpoint.save(model: model, optimizer: optimizer, metadata: ["steps": String(steps)], to: url)
    let restored = try makeModel(seed: 99)
    try Checkpoint.load(from: url).restore(into: restored)
    model.eval()
    restored.eval()
    let logits = try model.forward(test.images, device: device)
    guard try restored.forward(test.images, device: device).scalars == logits.scalars else {
        print("error: the model restored from \(url.path) predicts differently")
        exit(1)
    }
    let accuracy = Float(try loss(logits: logits, labels: test.labels, device: device).correct) / Float(test.labels.count)
    print(String(format: "held-out accuracy %.1f%% on %d images; checkpoint round trip identical", accuracy * 100, test.labels.count))

    let first = losses.prefix(5).reduce(0, +) / 5, last = losses.suffix(5).reduce(0, +) / 5
    guard last < first else {
        print(String(format: "error: the loss did not decrease (mean of the first five steps %.4f, of the last five %.4f)", first, last))
        exit(1)
    }
    print(String(format: "loss decreased: mean of the first five steps %.4f, of the last five %.4f", first, last))
} catch {
    print("error: \(error)")
    exit(1)
}
