import Fovea
import Foundation

/// A small model with trained weights restored, in evaluation mode. The number of classes is read
/// from the checkpoint's classification head, so models trained on class subsets load too.
func loadTrainedModel(weights: String, model: String?) throws -> (network: Sequential, name: String) {
    let checkpoint = try Checkpoint.load(from: URL(fileURLWithPath: weights))
    let name = try modelName(given: model, checkpoint: checkpoint)
    var network = try SmallModels.make(name)
    if let head = network.classifierPath, let stored = checkpoint.weights["\(head).weight"], stored.shape.rank == 2,
       stored.shape[0] != network.classifier?.outputFeatures {
        network = try SmallModels.make(name, classes: stored.shape[0])
    }
    try checkpoint.restore(into: network)
    network.eval()
    return (network, name)
}
