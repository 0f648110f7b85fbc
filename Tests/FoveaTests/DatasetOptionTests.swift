import Foundation
import Fovea
import Testing

/// `--dataset mnist` needs the MNIST files (`--data-dir` or FOVEA_MNIST): the default folder holds
/// Fashion-MNIST, whose images it would otherwise label as digits.
@Suite("fovea command: dataset options")
struct DatasetOptionTests {
    @Test func mnistNeedsItsOwnFolder() throws {
        let fixtures = try CommandFixtures("mnist")
        defer { fixtures.remove() }
        let eval = ["eval", "--weights", fixtures.weights, "--dataset", "mnist"]
        for subcommand in [eval, ["train", "--dataset", "mnist", "--epochs", "1", "--out", "w2.safetensors"]] {
            let result = try ZooCommandTests.run(subcommand, environment: ["FOVEA_MNIST": ""], timeout: 30, directory: fixtures.folder)
            #expect(result.status == 64 && result.error.contains("--dataset mnist needs the MNIST files: give --data-dir <folder> or set FOVEA_MNIST"),
                    "\(subcommand): \(result.status) \(result.error.suffix(400))")
        }
        let fromVariable = try ZooCommandTests.run(eval, environment: ["FOVEA_MNIST": fixtures.data], timeout: 30, directory: fixtures.folder)
        #expect(fromVariable.status == 0 && fromVariable.output.contains("8 images"), "\(fromVariable.error)")
        let fromFlag = try ZooCommandTests.run(eval + ["--data-dir", fixtures.data], timeout: 30, directory: fixtures.folder)
        #expect(fromFlag.status == 0, "\(fromFlag.error)")
        let file = try ZooCommandTests.run(eval + ["--data-dir", fixtures.png], timeout: 30, directory: fixtures.folder)
        #expect(file.status == 64 && file.error.contains("--data-dir \(fixtures.png) is not a folder"), "\(file.error)")
    }
}
