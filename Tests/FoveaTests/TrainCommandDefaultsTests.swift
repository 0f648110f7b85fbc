import Foundation
import Testing

/// `fovea train`'s learning rate follows the optimizer when `--lr` is not given: SGD's 0.05 makes
/// Adam diverge (Fashion-MNIST's cnn-bn: training loss 21 after 200 steps), so Adam and AdamW
/// start from PyTorch's 0.001; a given `--lr` is used with any optimizer.
@Suite("fovea train: defaults")
struct TrainCommandDefaultsTests {
    @Test func learningRateFollowsTheOptimizer() throws {
        let fixtures = try CommandFixtures("train-defaults")
        defer { fixtures.remove() }
        for (extra, expected) in [(["--optimizer", "sgd"], "lr 0.05"), (["--optimizer", "adam"], "lr 0.001"),
                                  (["--optimizer", "adamw"], "lr 0.001"), (["--optimizer", "adam", "--lr", "0.02"], "lr 0.02")] {
            let result = try ZooCommandTests.run(fixtures.arguments("train") + ["--schedule", "none"] + extra, timeout: 120,
                                                 directory: fixtures.folder)
            #expect(result.status == 0, "\(extra): \(result.error)")
            #expect(result.output.contains(expected + "\n") || result.output.hasSuffix(expected), "\(extra): \(result.output)")
        }
    }
}
