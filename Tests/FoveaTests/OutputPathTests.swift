import Foundation
import Fovea
import Testing

/// Every output path of every command is checked before work starts: a missing folder or a
/// directory given as the file is a usage error naming the flag and the path.
@Suite("fovea command: output paths")
struct OutputPathTests {
    @Test func outputPathsAreCheckedBeforeWork() throws {
        let fixtures = try CommandFixtures("outputs")
        defer { fixtures.remove() }
        let missing = "missing/dir/x.out", folder = fixtures.folder.path
        let cases: [([String], String)] = [
            (fixtures.arguments("train", setting: "--out", to: missing), "--out \(missing): the folder"),
            (fixtures.arguments("train", setting: "--out", to: folder), "--out \(folder) is a directory"),
            (fixtures.arguments("infer", setting: "--output", to: missing), "--output \(missing): the folder"),
            (["filter", "--kernel", "sharpen", fixtures.png, missing], "the output PNG \(missing): the folder"),
            (["features", "--weights", fixtures.weights, "--layer", "conv1", fixtures.png, folder], "the output PNG \(folder) is a directory"),
            (["features", "--weights", fixtures.weights, "--layer", "conv1", "--save-input", missing, fixtures.png, "o.png"], "--save-input \(missing): the folder"),
            (["kernels", "--weights", fixtures.weights, missing], "the output PNG \(missing): the folder"),
        ]
        for (arguments, expected) in cases {
            let start = Date()
            let result = try ZooCommandTests.run(arguments, timeout: 30, directory: fixtures.folder)
            #expect(result.status == 64 && result.error.contains(expected), "\(arguments): \(result.status) \(result.error.suffix(400))")
            #expect(!result.error.contains("epoch") && Date().timeIntervalSince(start) < 10, "\(arguments) started work")
        }
    }
}
