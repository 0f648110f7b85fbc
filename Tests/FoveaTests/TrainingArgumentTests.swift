import Foundation
import Fovea
import Testing

/// Invalid optimiser, schedule, loss and data-loader arguments throw
/// `FoveaError.invalidArgument` naming the owner, the argument and the valid range (they used to
/// trap, or — Adam's betas — to produce NaN silently).
@Suite("Training argument errors")
struct TrainingArgumentTests {
    static func dataset(_ count: Int) throws -> MNISTDataset {
        try MNISTDataset(images: Tensor(zeros: [count, 1, 4, 4]), labels: (0..<count).map { $0 % 10 }, classNames: MNISTDataset.fashionClassNames)
    }

    @Test func optimizers() {
        let parameters = [Parameter(Tensor(zeros: [2]))]
        expectInvalidArgument(["SGD", "learningRate", "≥ 0", "got -0.1"]) { _ = try SGD(parameters, learningRate: -0.1) }
        expectInvalidArgument(["SGD", "nesterov", "momentum > 0"]) { _ = try SGD(parameters, learningRate: 0.1, nesterov: true) }
        expectInvalidArgument(["Adam", "beta1", "[0, 1)", "got 1.0"]) { _ = try Adam(parameters, beta1: 1) }
        expectInvalidArgument(["Adam", "learningRate", "nan"]) { _ = try Adam(parameters, learningRate: .nan) }
        expectInvalidArgument(["AdamW", "beta2", "[0, 1)", "got 1.5"]) { _ = try Adam.adamW(parameters, beta2: 1.5) }
        expectInvalidArgument(["AdamW", "weightDecay", "≥ 0", "got -1.0"]) { _ = try Adam.adamW(parameters, weightDecay: -1) }
    }

    @Test func schedulesAndLoss() {
        expectInvalidArgument(["StepDecay", "stepSize", "≥ 1", "got 0"]) { _ = try StepDecay(stepSize: 0) }
        expectInvalidArgument(["CosineAnnealing", "totalSteps", "≥ 1", "got 0"]) { _ = try CosineAnnealing(totalSteps: 0) }
        expectInvalidArgument(["LinearWarmup", "warmupSteps", "≥ 1", "got -3"]) { _ = try LinearWarmup(warmupSteps: -3) }
        expectInvalidArgument(["MultiStepDecay", "gamma", "got -0.5"]) { _ = try MultiStepDecay(milestones: [1], gamma: -0.5) }
        expectInvalidArgument(["SoftmaxCrossEntropy", "labelSmoothing", "[0, 1)", "got 1.0"]) { _ = try SoftmaxCrossEntropy(labelSmoothing: 1) }
    }

    @Test func dataLoader() {
        expectInvalidArgument(["DataLoader", "batchSize", "≥ 1", "got 0"]) { _ = try DataLoader(Self.dataset(4), batchSize: 0) }
        expectInvalidArgument(["DataLoader", "augmentation padding", "≥ 0", "got -1"]) {
            _ = try DataLoader(Self.dataset(4), batchSize: 2, augmentation: Augmentation(padding: -1))
        }
        expectInvalidArgument(["DataLoader", "flipProbability", "[0, 1]", "got 2.0"]) {
            _ = try DataLoader(Self.dataset(4), batchSize: 2, augmentation: Augmentation(flipProbability: 2))
        }
    }

    /// Checked before the folder is read (a mismatched mean used to trap at the first image).
    @Test func imageFolderDataset() {
        let root = URL(fileURLWithPath: "/nonexistent-fovea-folder")
        expectInvalidArgument(["ImageFolderDataset", "crop", "≥ 1", "got 0"]) { _ = try ImageFolderDataset(root: root, crop: 0) }
        expectInvalidArgument(["ImageFolderDataset", "mean", "3 values, one per channel", "[0.5]"]) {
            _ = try ImageFolderDataset(root: root, crop: 4, mean: [0.5])
        }
        expectInvalidArgument(["ImageFolderDataset", "standardDeviation", "> 0", "[0.0]"]) {
            _ = try ImageFolderDataset(root: root, channels: .grey, crop: 4, standardDeviation: [0])
        }
    }

    /// `augmentation: nil` means no augmentation, exactly as `.none`.
    @Test func nilAugmentationIsNone() throws {
        let data = try MNISTDataset(images: Tensor.randomUniform([6, 1, 8, 8], seed: 4), labels: Array(0..<6), classNames: MNISTDataset.fashionClassNames)
        let withNil = try DataLoader(data, batchSize: 3, augmentation: nil, seed: 2)
        let withNone = try DataLoader(data, batchSize: 3, augmentation: .none, seed: 2)
        #expect(withNil.augmentation.padding == 0 && withNil.augmentation.flipProbability == 0)
        #expect(zip(Array(withNil), Array(withNone)).allSatisfy { $0.images.scalars == $1.images.scalars })
    }

    /// `Adam.adamW` takes `[Parameter]` like `SGD` and `Adam`, and behaves as the group form.
    @Test func adamWTakesParameters() throws {
        let a = Parameter(Tensor(shape: [2], scalars: [1, -1]))
        let b = Parameter(Tensor(shape: [2], scalars: [1, -1]))
        let plain = try Adam.adamW([a], learningRate: 0.1, weightDecay: 0.5)
        let grouped = try Adam.adamW([ParameterGroup([b])], learningRate: 0.1, weightDecay: 0.5)
        #expect(plain.decoupledWeightDecay && plain.weightDecay == 0.5)
        for (parameter, optimizer) in [(a, plain), (b, grouped)] {
            parameter.accumulateGradient(Tensor(shape: [2], scalars: [0.5, 0.25]))
            optimizer.step()
        }
        #expect(a.value.scalars == b.value.scalars)
        #expect(a.value.scalars != [1, -1])
    }
}
