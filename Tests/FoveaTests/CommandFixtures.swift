import Foundation
import Fovea

/// Tiny inputs for running every `fovea` subcommand quickly as a child process: a folder with an
/// 8-image MNIST-format training and test set, a `cnn` checkpoint, a 6×5 RGB PNG and a
/// safetensors batch `input` [1, 1, 28, 28].
struct CommandFixtures {
    let folder: URL
    var data: String { folder.appendingPathComponent("mnist").path }
    var weights: String { folder.appendingPathComponent("w.safetensors").path }
    var png: String { folder.appendingPathComponent("in.png").path }
    var batch: String { folder.appendingPathComponent("x.safetensors").path }

    init(_ name: String) throws {
        folder = try DataFixtures.temporaryFolder(name)
        let mnist = folder.appendingPathComponent("mnist")
        try FileManager.default.createDirectory(at: mnist, withIntermediateDirectories: true)
        for prefix in ["train", "t10k"] {
            try IDXTests.idx([8, 28, 28], (0..<(8 * 28 * 28)).map { UInt8($0 % 251) })
                .write(to: mnist.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            try IDXTests.idx([8], (0..<8).map(UInt8.init), magic: [0, 0, 8])
                .write(to: mnist.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }
        try Checkpoint.save(model: try SmallModels.make("cnn"), metadata: ["fovea.model": "cnn"], to: URL(fileURLWithPath: weights))
        var pixels = Tensor.randomUniform([3, 5, 6], seed: 3)
        pixels *= 255
        try Image(pixels: pixels).writePNG(to: URL(fileURLWithPath: png))
        try SafeTensors(tensors: [("input", Tensor.randomNormal([1, 1, 28, 28], seed: 4))]).write(to: URL(fileURLWithPath: batch))
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }

    /// Arguments with which each subcommand runs and succeeds on these inputs, as (flag, value)
    /// pairs (so one can be replaced) and positional arguments.
    func validArguments(_ subcommand: String) -> (options: [(String, String)], positional: [String]) {
        let out = folder.appendingPathComponent("out").path
        switch subcommand {
        case "train":
            return ([("--data-dir", data), ("--model", "cnn"), ("--epochs", "1"), ("--batch-size", "4"), ("--out", out + ".safetensors")], [])
        case "eval": return ([("--data-dir", data), ("--weights", weights)], [])
        case "predict": return ([("--weights", weights)], [png])
        case "summary": return ([("--model", "cnn")], [])
        case "infer": return ([("--weights", weights), ("--input", batch), ("--output", out + ".safetensors")], [])
        case "filter": return ([("--kernel", "sharpen")], [png, out + ".png"])
        case "features": return ([("--weights", weights), ("--layer", "conv1")], [png, out + ".png"])
        case "kernels": return ([("--weights", weights)], [out + ".png"])
        default: return ([], [])
        }
    }

    /// `validArguments` with `flag` set to `value` (replacing a given one).
    func arguments(_ subcommand: String, setting flag: String? = nil, to value: String = "") -> [String] {
        let (options, positional) = validArguments(subcommand)
        return [subcommand] + options.filter { $0.0 != flag }.flatMap { [$0.0, $0.1] } + (flag.map { ["\($0)=\(value)"] } ?? []) + positional
    }
}
