import Fovea
import FoveaTestSupport
import Testing

@Suite("Training")
struct TrainingTests {
    /// Horizontal stripes (class 0) against vertical stripes (class 1), with noise and a random phase.
    static func stripes(count: Int, seed: UInt64) -> Batch {
        var generator = SeededGenerator(seed: seed)
        var images = Tensor(zeros: [count, 1, 8, 8])
        var labels: [Int] = []
        images.withUnsafeMutableBufferPointer { pixels in
            for n in 0..<count {
                let label = Int(generator.next() % 2)
                let phase = Int(generator.next() % 2)
                labels.append(label)
                for h in 0..<8 {
                    for w in 0..<8 {
                        let stripe = ((label == 0 ? h : w) + phase) % 2 == 0 ? Float(1) : -1
                        pixels[((n * 8) + h) * 8 + w] = stripe + 0.3 * generator.nextStandardNormal()
                    }
                }
            }
        }
        return Batch(images: images, labels: labels)
    }

    static func makeModel(seed: UInt64) throws -> Sequential {
        try Sequential(named: [
            ("conv1", try Conv2D(1, 4, kernelSize: 3, padding: 1, seed: seed)),
            ("bn1", try BatchNorm2D(4)),
            ("relu1", ReLU()),
            ("pool1", try MaxPool2D(kernelSize: 2)),
            ("flatten", Flatten()),
            ("fc", try Linear(4 * 4 * 4, 2, seed: seed &+ 1)),
        ])
    }

    /// A tiny network learns on every backend: the loss falls by more than half within 60 steps
    /// and held-out accuracy is high. Fails if any backward pass is wrong.
    @Test(arguments: TestDevices.all)
    func tinyNetworkLearns(device: LabeledDevice) throws {
        let model = try Self.makeModel(seed: 7)
        let trainer = Trainer(model: model, optimizer: try SGD(model.allParameters, learningRate: 0.05, momentum: 0.9), device: device.device)
        let batches = (0..<6).map { Self.stripes(count: 16, seed: UInt64($0)) }
        let first = try trainer.trainStep(batches[0]).loss
        var last: Float = first
        for step in 1..<60 { last = try trainer.trainStep(batches[step % batches.count]).loss }
        #expect(last < first * 0.5, "\(device): loss went from \(first) to \(last)")
        let report = try trainer.evaluate([Self.stripes(count: 64, seed: 99)])
        #expect(report.accuracy >= 0.9, "\(device): held-out accuracy \(report.accuracy)")
    }

    @Test func nonFiniteLossStopsTrainingNamingTheStep() throws {
        let model = try Self.makeModel(seed: 1)
        let trainer = Trainer(model: model, optimizer: try SGD(model.allParameters, learningRate: 0.1), device: TestDevices.naive)
        let good = Self.stripes(count: 8, seed: 1)
        try trainer.trainStep(good)
        var bad = good
        bad.images[0, 0, 0, 0] = .nan
        do {
            try trainer.trainStep(bad)
            Issue.record("expected an error")
        } catch let error as FoveaError {
            #expect(error.kind == .numerical)
            #expect(error.message.contains("step 2"), "\(error.message)")
        }
    }

    @Test func frozenParametersStayBitIdentical() throws {
        let model = try Self.makeModel(seed: 3)
        model.layer(at: "conv1")!.freeze()
        let before = model.layer(at: "conv1")!.allParameters.map(\.value)
        let fcBefore = (model.layer(at: "fc") as! Linear).weight.value
        let trainer = Trainer(model: model, optimizer: try SGD(model.allParameters, learningRate: 0.1, momentum: 0.9, weightDecay: 1e-3),
                              device: TestDevices.accelerated[0].device)
        for seed in 0..<3 { try trainer.trainStep(Self.stripes(count: 8, seed: UInt64(seed))) }
        let after = model.layer(at: "conv1")!.allParameters
        for (old, parameter) in zip(before, after) {
            expectIdentical(parameter.value, old, "frozen conv1")
            #expect(parameter.gradient == nil)
        }
        #expect((model.layer(at: "fc") as! Linear).weight.value.scalars != fcBefore.scalars)
    }

    @Test func trainEpochReportsAndSchedules() throws {
        let model = try Self.makeModel(seed: 5)
        let optimizer = try Adam(model.allParameters, learningRate: 0.01)
        let trainer = Trainer(model: model, optimizer: optimizer, device: TestDevices.accelerated[1].device,
                              schedule: try StepDecay(stepSize: 1, gamma: 0.5))
        let batches = (0..<4).map { Self.stripes(count: 8, seed: UInt64($0)) }
        let first = try trainer.trainEpoch(batches)
        let second = try trainer.trainEpoch(batches)
        #expect(first.images == 32 && second.epoch == 2)
        #expect(first.learningRate == 0.01 && second.learningRate == 0.005)
        #expect(second.loss < first.loss)
    }

    @Test func batchNormUsesRunningStatisticsInEvaluation() throws {
        let bn = try BatchNorm2D(2, momentum: 0.5)
        let input = Tensor.randomNormal([4, 2, 3, 3], mean: 3, standardDeviation: 2, seed: 1)
        _ = try bn.forward(input, device: TestDevices.naive)
        #expect(bn.batchesTracked.value[flat: 0] == 1)
        // running = 0.5·initial + 0.5·batch: mean starts at 0, variance at 1 (unbiased batch variance).
        for c in 0..<2 {
            var values: [Double] = []
            for n in 0..<4 { for i in 0..<9 { values.append(Double(input[flat: (n * 2 + c) * 9 + i])) } }
            let mean = values.reduce(0, +) / 36
            let unbiased = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 35
            #expect(abs(Double(bn.runningMean.value[c]) - 0.5 * mean) < 1e-4)
            #expect(abs(Double(bn.runningVariance.value[c]) - (0.5 + 0.5 * unbiased)) < 1e-3)
        }
        bn.eval()
        let output = try bn.forward(input, device: TestDevices.naive)
        let expected = (0..<input.count).map { index -> Float in
            let c = (index / 9) % 2
            return (input[flat: index] - bn.runningMean.value[c]) / (bn.runningVariance.value[c] + 1e-5).squareRoot()
        }
        expectClose(output, Tensor(shape: input.shape, scalars: expected), absolute: 1e-5, relative: 1e-5, "eval-mode batch norm")
    }

    @Test func dropoutIsSeededAndIdentityInEvaluation() throws {
        let input = Tensor(repeating: 1, shape: [1, 1, 100, 100])
        let a = try Dropout(probability: 0.3, seed: 9), b = try Dropout(probability: 0.3, seed: 9)
        let ya = try a.forward(input, device: TestDevices.naive)
        let yb = try b.forward(input, device: TestDevices.accelerated[0].device)
        #expect(ya.scalars == yb.scalars)
        let dropped = ya.scalars.filter { $0 == 0 }.count
        #expect(abs(Double(dropped) / 10_000 - 0.3) < 0.02, "dropped fraction \(Double(dropped) / 10_000)")
        #expect(ya.scalars.allSatisfy { $0 == 0 || abs($0 - 1 / 0.7) < 1e-6 })
        let gradient = try a.backward(input, device: TestDevices.naive)
        #expect(gradient.scalars == ya.scalars)
        a.eval()
        #expect(try a.forward(input, device: TestDevices.naive).scalars == input.scalars)
    }
}
