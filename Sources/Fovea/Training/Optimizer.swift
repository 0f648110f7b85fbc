/// Parameters that share a learning rate: e.g. a pretrained backbone at a tenth of the rate and a
/// new head at the full rate.
public struct ParameterGroup {
    public var parameters: [Parameter]
    /// Multiplies the optimiser's learning rate for this group.
    public var learningRateScale: Float

    public init(_ parameters: [Parameter], learningRateScale: Float = 1) {
        self.parameters = parameters
        self.learningRateScale = learningRateScale
    }
}

/// Updates parameters from their accumulated gradients. Frozen parameters and parameters with no
/// gradient are skipped.
public protocol Optimizer: AnyObject {
    /// The base learning rate (a schedule may change it between steps).
    var learningRate: Float { get set }
    var groups: [ParameterGroup] { get }
    /// Applies one update to every trainable parameter that has a gradient.
    func step()
    /// The optimiser's per-parameter state (momentum buffers, moments, step counts) as named
    /// tensors, `<parameter name>.<state>`, for checkpoints. `names` maps parameters to names.
    func stateTensors(names: [ObjectIdentifier: String]) -> [(name: String, tensor: Tensor)]
    /// Restores what `stateTensors` saved; `parameters` maps names back to parameters.
    /// - Throws: `FoveaError` naming a state tensor whose shape does not fit its parameter.
    func loadState(_ tensors: [String: Tensor], parameters: [String: Parameter]) throws
}

extension Optimizer {
    /// Clears the gradients of every parameter the optimiser updates.
    public func zeroGradients() {
        for group in groups { for parameter in group.parameters { parameter.zeroGradient() } }
    }

    /// Every (parameter, its learning rate) the next step updates.
    func trainable() -> [(parameter: Parameter, learningRate: Float)] {
        groups.flatMap { group in
            group.parameters.filter { !$0.isFrozen && $0.gradient != nil }.map { ($0, learningRate * group.learningRateScale) }
        }
    }
}

/// Per-parameter optimiser state (momentum buffers, moment estimates), keyed by the parameter.
struct ParameterState {
    var values: [ObjectIdentifier: Tensor] = [:]

    subscript(parameter: Parameter) -> Tensor? {
        get { values[ObjectIdentifier(parameter)] }
        set { values[ObjectIdentifier(parameter)] = newValue }
    }

    /// `<name>.<suffix>` for every parameter with state, sorted by name.
    func named(_ names: [ObjectIdentifier: String], suffix: String) -> [(name: String, tensor: Tensor)] {
        values.compactMap { id, tensor in names[id].map { ("\($0).\(suffix)", tensor) } }.sorted { $0.name < $1.name }
    }

    /// Restores entries `<name>.<suffix>` from `tensors`.
    mutating func load(_ tensors: [String: Tensor], parameters: [String: Parameter], suffix: String) throws {
        for (name, parameter) in parameters {
            guard let tensor = tensors["\(name).\(suffix)"] else { continue }
            guard tensor.count == parameter.value.count else {
                throw FoveaError(.shapeMismatch, "optimizer state \(name).\(suffix) has shape \(tensor.shape), its parameter \(parameter.shape)")
            }
            self[parameter] = tensor.reshaped(to: parameter.shape)
        }
    }
}
