import Foundation

/// A training checkpoint in one safetensors file:
/// - the model's state dict under PyTorch's names (`conv1.weight`, `bn1.running_mean`, …;
///   `num_batches_tracked` as I64), so the file doubles as a weights file;
/// - the optimiser's state under `optimizer.<parameter>.<state>` (`momentum_buffer`, `exp_avg`, …);
/// - `__metadata__` strings: the model name, epoch, seed, learning rate, anything else given, and
///   the random generator state of every dropout layer (`fovea.rng.<layer>`).
/// Written atomically: a crash mid-write leaves the previous checkpoint intact.
///
/// Loading checks each tensor's dtype against what it holds (`checkDType`): integer-valued tensors
/// (`num_batches_tracked`, an optimiser's `step`) take an integer dtype or integral floats; every
/// other tensor (weights, running statistics, moment estimates) a floating-point dtype — so an
/// I32 weight is an error naming the file, the tensor and both dtypes, not garbage floats.
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
    /// - Throws: `.corruptFile` for a malformed file or a tensor whose dtype does not fit it.
    public static func load(from url: URL) throws -> Checkpoint {
        try decode(try SafeTensors.read(from: url), source: url.path)
    }

    /// A checkpoint from the bytes of a safetensors file (e.g. read by another process and
    /// broadcast); `source` names it in errors.
    /// - Throws: `.corruptFile` as `load(from:)`.
    public static func decode(_ data: Data, source: String) throws -> Checkpoint {
        try decode(try SafeTensors.decode(data, source: source), source: source)
    }

    private static func decode(_ file: SafeTensors, source: String) throws -> Checkpoint {
        var weights: [String: Tensor] = [:], state: [String: Tensor] = [:]
        for (name, tensor) in file.tensors {
            if let dtype = file.dtypes[name] { try checkDType(dtype, of: name, tensor: tensor, file: source) }
            if name.hasPrefix(optimizerPrefix) { state[String(name.dropFirst(optimizerPrefix.count))] = tensor } else { weights[name] = tensor }
        }
        return Checkpoint(weights: weights, optimizerState: state, metadata: file.metadata)
    }

    /// Whether the tensor `name` holds integers: batch norm's `num_batches_tracked` and the
    /// optimisers' `<parameter>.step` counts (the names `save` writes as I64).
    public static func holdsIntegers(_ name: String) -> Bool {
        name.hasSuffix("num_batches_tracked") || (name.hasPrefix(optimizerPrefix) && name.hasSuffix(".step"))
    }

    /// Throws unless `dtype` has an exact meaning for the tensor `name`: an integer-valued tensor
    /// (`holdsIntegers`) takes an integer dtype, or a floating-point one whose values are whole
    /// numbers; every other tensor a floating-point dtype (F32; F16 and BF16 convert exactly, F64
    /// rounds to the nearest Float32). BOOL fits neither.
    /// - Throws: `.corruptFile` naming `file`, the tensor, the expected and the actual dtype.
    static func checkDType(_ dtype: SafeTensors.DType, of name: String, tensor: Tensor, file: String) throws {
        let floating = "a floating-point dtype (F32, F16, BF16 or F64)"
        if holdsIntegers(name) {
            if dtype.isInteger { return }
            if dtype.isFloatingPoint {
                guard tensor.scalars.allSatisfy({ $0.isFinite && $0 == $0.rounded() }) else {
                    throw FoveaError(.corruptFile, "\(file): tensor '\(name)' holds integers, but its \(dtype.rawValue) values are not all whole numbers")
                }
                return
            }
            throw FoveaError(.corruptFile, "\(file): tensor '\(name)' has dtype \(dtype.rawValue), expected an integer dtype (I64, I32, I16, I8 or U8) or \(floating)")
        }
        guard dtype.isFloatingPoint else {
            throw FoveaError(.corruptFile, "\(file): tensor '\(name)' has dtype \(dtype.rawValue), expected \(floating)")
        }
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
