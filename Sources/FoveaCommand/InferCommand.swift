import ArgumentParser
import Fovea
import Foundation

/// `fovea infer`: a batch stored in safetensors through a model, logits back to safetensors.
struct InferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Run a batch of images (a safetensors tensor 'input', N×C×H×W) through a model in evaluation mode and write the logits ('output', N×classes).",
        discussion: """
            Weights from torchvision load as they are: export them with
              safetensors.torch.save_file(torchvision.models.resnet50(weights="DEFAULT").state_dict(), "resnet50.safetensors")
            The input must already be preprocessed (resized, cropped, normalised) as the model expects.
            """)

    @OptionGroup var devices: DeviceOptions
    @Option(help: "Model: \(BuiltInModels.names.joined(separator: ", ")) (default: the one named in the weights file).")
    var model: String?
    @Option(help: "Weights or checkpoint (safetensors), e.g. a torchvision state dict.")
    var weights: String
    @Option(help: "safetensors file with the batch as tensor 'input' (N×C×H×W).")
    var input: String
    @Option(help: "Where to write the logits (safetensors, tensor 'output').")
    var output: String
    @Option(help: "Number of classes, 1 to 65536 (default: the rows of the weights' last linear layer).")
    var classes: Int?
    @Option(name: .customLong("batch-size"), help: "Images per forward pass (1 to 65536).")
    var batchSize: Int = 16

    func validate() throws {
        try OptionRange.check(batchSize, 1...OptionRange.largestBatch, flag: "--batch-size")
        try OptionRange.check(classes, 1...OptionRange.largestClassCount, flag: "--classes")
        try OutputPath.check(output, flag: "--output")
    }

    func run() throws {
        let device = try devices.makeDevice()
        let checkpoint = try Checkpoint.load(from: URL(fileURLWithPath: weights))
        let name = try modelName(given: model, checkpoint: checkpoint)
        let file = try SafeTensors.read(from: URL(fileURLWithPath: input))
        guard let batch = file["input"] else {
            let names = file.tensors.map(\.name)
            let listed = names.prefix(8).joined(separator: ", ") + (names.count > 8 ? ", … (\(names.count) in all)" : "")
            throw FoveaError.invalidArgument("\(input) has no tensor 'input' (N×C×H×W); it has: \(listed)")
        }
        guard batch.shape.rank == 4, batch.shape[0] > 0 else {
            throw FoveaError.shapeMismatch("\(input): 'input' must be a batch N×C×H×W, got \(batch.shape)")
        }
        let classCount = try classes ?? BuiltInModels.classes(of: name, in: checkpoint.weights)
        // The weights replace every parameter: skip drawing random ones.
        let network = try Initializer.withoutRandomValues { try BuiltInModels.make(name, classes: classCount) }
        try network.build(inputShape: batch.shape)
        try checkpoint.restore(into: network)
        network.eval()

        let start = DispatchTime.now().uptimeNanoseconds
        var logits: [Float] = []
        var outputShape: Shape = [0]
        for first in stride(from: 0, to: batch.shape[0], by: batchSize) {
            let count = min(batchSize, batch.shape[0] - first)
            let result = try network.forward(Self.images(batch, from: first, count: count), device: device)
            logits += result.scalars
            outputShape = Shape([batch.shape[0]] + result.shape.dimensions.dropFirst())
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        try SafeTensors(tensors: [("output", Tensor(shape: outputShape, scalars: logits))],
                        metadata: ["fovea.model": name, "fovea.device": Devices.describe(device)])
            .write(to: URL(fileURLWithPath: output))
        printError(String(format: "%@: %d images %@ → logits %@ in %.2f s on %@; wrote %@", name, batch.shape[0], batch.shape.description,
                          outputShape.description, seconds, Devices.describe(device), output))
    }

    /// Images `first ..< first + count` of an N×C×H×W batch.
    static func images(_ batch: Tensor, from first: Int, count: Int) -> Tensor {
        let size = batch.count / batch.shape[0]
        var part = Tensor(zeros: Shape([count] + batch.shape.dimensions.dropFirst()))
        batch.withUnsafeBufferPointer { source in
            part.withUnsafeMutableBufferPointer { target in
                target.baseAddress!.update(from: source.baseAddress! + first * size, count: count * size)
            }
        }
        return part
    }
}
