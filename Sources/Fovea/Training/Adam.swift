import Foundation

/// Adam and AdamW, as PyTorch's `torch.optim.Adam` / `AdamW`:
///
///     g ← ∇ + λ·p                       (Adam's L2 weight decay)      |  p ← p·(1 − lr·λ)   (AdamW, decoupled)
///     m ← β₁·m + (1 − β₁)·g,  v ← β₂·v + (1 − β₂)·g²
///     p ← p − lr · (m/(1 − β₁ᵗ)) / (√(v/(1 − β₂ᵗ)) + ε)
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    public let weightDecay: Float
    /// True for AdamW: weight decay applied to the parameter directly, not through the gradient.
    public let decoupledWeightDecay: Bool
    public let groups: [ParameterGroup]
    private var firstMoment = ParameterState()
    private var secondMoment = ParameterState()
    private var steps: [ObjectIdentifier: Int] = [:]

    /// - Throws: `.invalidArgument` naming the argument and its valid range (PyTorch's checks):
    ///   learning rate, epsilon and weight decay finite and ≥ 0, betas in [0, 1).
    public init(_ groups: [ParameterGroup], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0, decoupledWeightDecay: Bool = false) throws {
        let check = ArgumentCheck(decoupledWeightDecay ? "AdamW" : "Adam")
        try check.nonNegative(learningRate, "learningRate")
        try check.fraction(beta1, "beta1", includingOne: false)
        try check.fraction(beta2, "beta2", includingOne: false)
        try check.nonNegative(epsilon, "epsilon")
        try check.nonNegative(weightDecay, "weightDecay")
        self.groups = groups
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
    }

    public convenience init(_ parameters: [Parameter], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                            epsilon: Float = 1e-8, weightDecay: Float = 0) throws {
        try self.init([ParameterGroup(parameters)], learningRate: learningRate, beta1: beta1, beta2: beta2,
                  epsilon: epsilon, weightDecay: weightDecay)
    }

    /// AdamW (decoupled weight decay, default λ = 0.01 as PyTorch).
    public static func adamW(_ groups: [ParameterGroup], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                             epsilon: Float = 1e-8, weightDecay: Float = 0.01) throws -> Adam {
        try Adam(groups, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                 weightDecay: weightDecay, decoupledWeightDecay: true)
    }

    /// AdamW over one group of `parameters`, like `SGD` and `Adam` take them.
    public static func adamW(_ parameters: [Parameter], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                             epsilon: Float = 1e-8, weightDecay: Float = 0.01) throws -> Adam {
        try adamW([ParameterGroup(parameters)], learningRate: learningRate, beta1: beta1, beta2: beta2,
                  epsilon: epsilon, weightDecay: weightDecay)
    }

    public func stateTensors(names: [ObjectIdentifier: String]) -> [(name: String, tensor: Tensor)] {
        let steps = self.steps.compactMap { id, count in names[id].map { ("\($0).step", Tensor(repeating: Float(count), shape: [])) } }
        return firstMoment.named(names, suffix: "exp_avg") + secondMoment.named(names, suffix: "exp_avg_sq") + steps.sorted { $0.0 < $1.0 }
    }

    public func loadState(_ tensors: [String: Tensor], parameters: [String: Parameter]) throws {
        try firstMoment.load(tensors, parameters: parameters, suffix: "exp_avg")
        try secondMoment.load(tensors, parameters: parameters, suffix: "exp_avg_sq")
        for (name, parameter) in parameters {
            if let count = tensors["\(name).step"], count.count == 1 { steps[ObjectIdentifier(parameter)] = Int(count[flat: 0]) }
        }
    }

    public func step() {
        for (parameter, rate) in trainable() {
            let id = ObjectIdentifier(parameter)
            let t = (steps[id] ?? 0) + 1
            steps[id] = t
            var gradient = parameter.gradient!
            if weightDecay != 0 {
                if decoupledWeightDecay { parameter.value *= 1 - rate * weightDecay } else { gradient.addScaled(parameter.value, weightDecay) }
            }
            var m = firstMoment.take(parameter) ?? Tensor(zeros: parameter.shape)
            var v = secondMoment.take(parameter) ?? Tensor(zeros: parameter.shape)
            let (b1, b2, eps) = (beta1, beta2, epsilon)
            let correction1 = 1 - Float(pow(Double(b1), Double(t)))
            let correction2 = 1 - Float(pow(Double(b2), Double(t)))
            let count = parameter.value.count
            gradient.withUnsafeBufferPointer { g in
                m.withUnsafeMutableBufferPointer { m in
                    v.withUnsafeMutableBufferPointer { v in
                        parameter.value.withUnsafeMutableBufferPointer { p in
                            let (g, m, v, p) = (SendablePointer(g.baseAddress!), SendablePointer(m.baseAddress!),
                                                SendablePointer(v.baseAddress!), SendablePointer(p.baseAddress!))
                            ParameterUpdate.forEachChunk(count) { range in
                                ParameterUpdate.eightAtATime(range, gradient: g.pointer, m.pointer, v.pointer, parameter: p.pointer,
                                                             stores: (true, true)) { g, m, v, p in
                                    m = b1 * m + (1 - b1) * g
                                    v = b2 * v + (1 - b2) * g * g
                                    let denominator = (v / correction2).squareRoot() + eps
                                    p -= rate * (m / correction1) / denominator
                                }
                            }
                        }
                    }
                }
            }
            firstMoment[parameter] = m
            secondMoment[parameter] = v
        }
    }
}
