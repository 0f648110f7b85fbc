import Foundation

/// A training checkpoint in one safetensors file:
/// - the model's state dict under PyTorch's names (`conv1.weight`, `bn1.running_mean`, …;
///   `num_batches_tracked` as I64), so the file doubles as a weights file;
/// - the optimiser's state under `optimizer.<parameter>.<state>` (`momentum_buffer`, `exp_avg`, …);
/// - `__metadata__` strings: the model name, epoch, seed, learning rate, anything else given, and
///   the random generator state of every dropout layer (`fovea.rng.<layer>`).
/// Written atomically: a crash mid-write leaves the previous checkpoint intact.
public struct Checkpoint: Sendable {
    public static let optimizerPrefix = "optimizer."
    /// Metadata key prefix of a dropout layer's random generator state (4 decimal words).
    public static let rngPrefix = "fovea.rng."

    public var weights: [String: Tensor]
    public var optimizerState: [String: Tensor]
    public var metadata: [String: String]

    /// Saves `model` (and `optimizer`, if given) with `metadata` to `url`.
    public static func save(model: Layer, optimizer: (any Optimizer)? = nil, metadata: [String: String] = [:], to url: URL) throws {
        var tensors = model.stateDict()
        if let optimizer {
            let names = Dictionary(model.namedParameters().map { (ObjectIdentifier($0.parameter), $0.name) }, uniquingKeysWith: { a, _ in a })
            tensors += optimizer.stateTensors(names: names).map { (optimizerPrefix + $0.name, $0.tensor) }
        }
        let integers = Set(tensors.map(\.name).filter { $0.hasSuffix("num_batches_tracked") })
        var metadata = metadata
        for (name, layer) in model.namedLayers() {
            if let dropout = layer as? Dropout {
                metadata[rngPrefix + name] = dropout.generatorState.map { String($0) }.joined(separator: ",")
            }
        }
        try SafeTensors(tensors: tensors, metadata: metadata).write(to: url, integerTensors: integers)
    }

    /// Reads a checkpoint or a plain weights file (which has no optimiser state).
    public static func load(from url: URL) throws -> Checkpoint {
        let file = try SafeTensors.read(from: url)
        var weights: [String: Tensor] = [:], state: [String: Tensor] = [:]
        for (name, tensor) in file.tensors {
            if name.hasPrefix(optimizerPrefix) { state[String(name.dropFirst(optimizerPrefix.count))] = tensor } else { weights[name] = tensor }
        }
        return Checkpoint(weights: weights, optimizerState: state, metadata: file.metadata)
    }

    /// Loads the weights into `model` (strictly unless asked) and the state into `optimizer`.
    public func restore(into model: Layer, optimizer: (any Optimizer)? = nil, strict: Bool = true) throws {
        try model.loadStateDict(weights, strict: strict)
        for (name, layer) in model.namedLayers() {
            guard let dropout = layer as? Dropout, let text = metadata[Self.rngPrefix + name] else { continue }
            let words = text.split(separator: ",").compactMap { UInt64($0) }
            guard words.count == 4 else {
                throw FoveaError(.corruptFile, "checkpoint metadata \(Self.rngPrefix + name) is not four integers: '\(text)'")
            }
            dropout.generatorState = words
        }
        if let optimizer {
            let parameters = Dictionary(model.namedParameters().map { ($0.name, $0.parameter) }, uniquingKeysWith: { a, _ in a })
            try optimizer.loadState(optimizerState, parameters: parameters)
        }
    }
}
