import Foundation
import Fovea
import Testing

/// `fovea train --resume`: the model comes from the checkpoint unless `--model` is given (then it
/// must match), and the optimizer recorded in the checkpoint (`fovea.optimizer`) must match
/// `--optimizer`.
@Suite("fovea command: resume")
struct ResumeCommandTests {
    @Test func resumeTakesTheModelAndChecksTheOptimizer() throws {
        let fixtures = try CommandFixtures("resume")
        defer { fixtures.remove() }
        let base = ["train", "--data-dir", fixtures.data, "--batch-size", "4"]
        let first = try ZooCommandTests.run(base + ["--model", "cnn", "--optimizer", "adam", "--epochs", "1", "--out", "a.safetensors"],
                                            timeout: 60, directory: fixtures.folder)
        #expect(first.status == 0, "\(first.error)")
        let saved = try Checkpoint.load(from: fixtures.folder.appendingPathComponent("a.safetensors"))
        #expect(saved.metadata["fovea.optimizer"] == "adam" && saved.metadata["fovea.model"] == "cnn")

        let resumed = try ZooCommandTests.run(base + ["--resume", "a.safetensors", "--optimizer", "adam", "--epochs", "2", "--out", "b.safetensors"],
                                              timeout: 60, directory: fixtures.folder)
        #expect(resumed.status == 0 && resumed.output.contains("fovea train: cnn,") && resumed.output.contains("epoch 2/2"), "\(resumed.output) \(resumed.error)")

        let otherModel = try ZooCommandTests.run(base + ["--resume", "a.safetensors", "--model", "cnn-bn", "--optimizer", "adam", "--epochs", "2"],
                                                 timeout: 60, directory: fixtures.folder)
        #expect(otherModel.status == 1 && otherModel.error.contains("a.safetensors holds a 'cnn' model, not 'cnn-bn'"), "\(otherModel.error)")

        let otherOptimizer = try ZooCommandTests.run(base + ["--resume", "a.safetensors", "--epochs", "2"], timeout: 60, directory: fixtures.folder)
        #expect(otherOptimizer.status == 1 && otherOptimizer.error.contains("a.safetensors was trained with the optimizer 'adam', not 'sgd'; give --optimizer adam"),
                "\(otherOptimizer.error)")
    }
}
