import Foundation
import Fovea
import FoveaTestSupport
import Testing

/// The name resolver the command line uses (`BuiltInModels`), and the built `fovea` binary's
/// `summary` and `infer` on zoo models (run as a child process; `swift test` builds it beside the
/// test bundle).
@Suite("fovea command: zoo models")
struct ZooCommandTests {
    @Test func resolverKnowsSmallModelsAndTheZoo() throws {
        #expect(BuiltInModels.names == SmallModels.names + ModelZoo.names)
        #expect(try BuiltInModels.defaults(for: "cnn-bn") == .init(inputShape: [1, 1, 28, 28], classes: 10))
        #expect(try BuiltInModels.defaults(for: "densenet161") == .init(inputShape: [1, 3, 224, 224], classes: 1000))
        let small = try BuiltInModels.make("resnet-small")
        #expect(try small.outputShape(for: [2, 1, 28, 28]) == [2, 10])
        let zoo = try Initializer.withoutRandomValues { try BuiltInModels.make("resnet18", classes: 4, inputChannels: 1) }
        #expect(try zoo.outputShape(for: [2, 1, 28, 28]) == [2, 4])
        let error = try #require(throws: FoveaError.self) { try BuiltInModels.make("resnet51") }
        #expect(error.kind == .invalidArgument)
        for name in ["resnet51", "cnn-bn", "alexnet", "vgg19_bn", "densenet201"] { #expect(error.message.contains(name), "\(error.message)") }
    }

    @Test func classesComeFromTheWeightsLastLinearLayer() throws {
        #expect(try BuiltInModels.classes(of: "vgg11", in: ["classifier.6.weight": Tensor(zeros: [37, 4096])]) == 37)
        #expect(try BuiltInModels.classes(of: "resnet18", in: ["fc.weight": Tensor(zeros: [5, 512])]) == 5)
        #expect(try BuiltInModels.classes(of: "densenet121", in: ["classifier.weight": Tensor(zeros: [3, 1024])]) == 3)
        #expect(try BuiltInModels.classes(of: "cnn", in: ["fc2.weight": Tensor(zeros: [10, 1024])]) == 10)
        #expect(try BuiltInModels.classes(of: "resnet18", in: [:]) == nil)
    }

    /// The `fovea` executable next to the test bundle.
    static func fovea() throws -> URL { try BuiltExecutable.url("fovea") }

    /// Runs the built `fovea` with `arguments` (in `directory`, if given); a child still running after `timeout` seconds is
    /// killed and the call throws. A child killed by a signal reports `128 + signal`, as a shell does
    /// (a trap, SIGILL, is 132).
    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Double = 600, directory: URL? = nil) throws
        -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = try fovea()
        if let directory { process.currentDirectoryURL = directory }
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        // Files rather than pipes: the child never blocks on a full pipe while this thread waits.
        let folder = try DataFixtures.temporaryFolder("run")
        defer { try? FileManager.default.removeItem(at: folder) }
        let outputURL = folder.appendingPathComponent("stdout"), errorURL = folder.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        let output = try FileHandle(forWritingTo: outputURL), error = try FileHandle(forWritingTo: errorURL)
        process.standardOutput = output
        process.standardError = error
        try process.run()
        try? output.close()
        try? error.close()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw FoveaError(.io, "fovea \(arguments.joined(separator: " ")) still ran after \(timeout) s; killed")
        }
        process.waitUntilExit()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return (status, String(decoding: try Data(contentsOf: outputURL), as: UTF8.self),
                String(decoding: try Data(contentsOf: errorURL), as: UTF8.self))
    }

    @Test func summaryOfAZooModel() throws {
        let result = try Self.run(["summary", "--model", "resnet50"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("25,557,032 parameters"), "\(result.output.suffix(300))")
        #expect(result.output.contains("layer4.2.conv3") && result.output.contains("1×3×224×224"))
        let unknown = try Self.run(["summary", "--model", "resnet51"])
        #expect(unknown.status != 0)
        #expect(unknown.error.contains("unknown model 'resnet51'") && unknown.error.contains("densenet201"), "\(unknown.error)")
    }

    /// `fovea infer` on dispatch gives the logits of an in-process forward pass on openblas, for a
    /// batch of 3 run 2 at a time, with the class count read from the weights.
    @Test func inferWritesTheLogits() throws {
        let folder = try DataFixtures.temporaryFolder("infer")
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try Initializer.withoutRandomValues { try ModelZoo.make("resnet18", classes: 7) }
        ZooForwardTests.fillWeights(model)
        let weights = folder.appendingPathComponent("w.safetensors"), input = folder.appendingPathComponent("x.safetensors")
        let output = folder.appendingPathComponent("y.safetensors")
        try Checkpoint.save(model: model, to: weights)
        let x = Tensor.randomNormal([3, 3, 32, 32], seed: 5)
        try SafeTensors(tensors: [("input", x)]).write(to: input)

        let result = try Self.run(["infer", "--model", "resnet18", "--weights", weights.path, "--input", input.path, "--output", output.path,
                                   "--batch-size", "2"], environment: ["FOVEA_DEVICE": "dispatch", "FOVEA_THREADS": "2"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.contains("dispatch (2 threads)"), "\(result.error)")
        let logits = try #require(try SafeTensors.read(from: output)["output"])
        model.eval()
        let expected = try model.forward(x, device: TestDevices.accelerated[1].device)
        #expect(expected.shape == [3, 7])
        expectClose(logits, expected, absolute: 1e-4 * max(1, expected.scalars.map(abs).max()!), relative: 0, "fovea infer")

        let missing = try Self.run(["infer", "--model", "resnet18", "--weights", weights.path, "--input", weights.path, "--output", output.path])
        #expect(missing.status != 0 && missing.error.contains("has no tensor 'input'"), "\(missing.error)")
    }
}

/// `fovea --version` prints the library's one version constant.
@Suite("fovea command: version")
struct VersionCommandTests {
    @Test func versionIsTheLibrarys() throws {
        let result = try ZooCommandTests.run(["--version"], timeout: 30)
        #expect(result.status == 0 && result.output == FoveaVersion.current + "\n", "\(result.output) \(result.error)")
        #expect(FoveaVersion.current.split(separator: ".").count == 3)
    }
}
