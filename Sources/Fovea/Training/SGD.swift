/// Stochastic gradient descent with momentum, Nesterov momentum and weight decay, exactly as
/// PyTorch's `torch.optim.SGD`:
///
///     g ← ∇ + λ·p                       (weight decay λ)
///     b ← g (first step),  b ← μ·b + (1 − dampening)·g   (momentum μ)
///     g ← g + μ·b  (Nesterov)  or  g ← b
///     p ← p − lr·g
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    public let dampening: Float
    public let nesterov: Bool
    public let weightDecay: Float
    public let groups: [ParameterGroup]
    private var velocity = ParameterState()

    /// - Throws: `.invalidArgument` naming the argument and its valid range: a negative or
    ///   non-finite learning rate, momentum or weight decay; Nesterov without momentum or with dampening.
    public init(_ groups: [ParameterGroup], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                nesterov: Bool = false, weightDecay: Float = 0) throws {
        let check = ArgumentCheck("SGD")
        try check.nonNegative(learningRate, "learningRate")
        try check.nonNegative(momentum, "momentum")
        try check.finite(dampening, "dampening")
        try check.nonNegative(weightDecay, "weightDecay")
        try check.require(!nesterov || (momentum > 0 && dampening == 0), "nesterov",
                          mustBe: "used with momentum > 0 and dampening 0", got: "momentum \(momentum), dampening \(dampening)")
        self.groups = groups
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }

    public convenience init(_ parameters: [Parameter], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                            nesterov: Bool = false, weightDecay: Float = 0) throws {
        try self.init([ParameterGroup(parameters)], learningRate: learningRate, momentum: momentum, dampening: dampening,
                  nesterov: nesterov, weightDecay: weightDecay)
    }

    public func stateTensors(names: [ObjectIdentifier: String]) -> [(name: String, tensor: Tensor)] {
        velocity.named(names, suffix: "momentum_buffer")
    }

    public func loadState(_ tensors: [String: Tensor], parameters: [String: Parameter]) throws {
        try velocity.load(tensors, parameters: parameters, suffix: "momentum_buffer")
    }

    /// One pass over each parameter: for every element, the formulas above in that order
    /// (`ParameterUpdate`), the momentum buffer and the parameter updated in place, eight
    /// elements at a time (the same operations on each lane as one element alone, so the same bits).
    public func step() {
        let (decay, momentum, dampening, nesterov) = (weightDecay, self.momentum, self.dampening, self.nesterov)
        for (parameter, rate) in trainable() {
            let gradient = parameter.gradient!
            // The first step's buffer is the gradient itself (b ← g); later ones update it. The
            // buffer is taken out of `velocity` so that it is uniquely held and updated in place.
            // Without momentum there is none.
            let first = momentum != 0 && !velocity.contains(parameter)
            var buffer = momentum != 0 ? velocity.take(parameter) ?? Tensor(uninitialized: parameter.shape) : nil
            let rule = Rule(rate: rate, decay: decay, momentum: momentum, dampening: dampening, nesterov: nesterov, first: first)
            let count = parameter.value.count
            gradient.withUnsafeBufferPointer { g in
                parameter.value.withUnsafeMutableBufferPointer { p in
                    let (g, p) = (SendablePointer(g.baseAddress!), SendablePointer(p.baseAddress!))
                    func update(buffer b: SendablePointer<Float>) {
                        ParameterUpdate.forEachChunk(count) { range in rule.apply(range, gradient: g.pointer, buffer: b.pointer, parameter: p.pointer) }
                    }
                    // Without momentum the rule neither reads nor stores the buffer, yet
                    // `eightAtATime` loads `count` elements through it: the parameter stands in.
                    if buffer == nil { update(buffer: p) } else { buffer!.withUnsafeMutableBufferPointer { update(buffer: SendablePointer($0.baseAddress!)) } }
                }
            }
            if let buffer { velocity[parameter] = buffer }
        }
    }

    /// The update of one parameter at one step, as vector code over ranges of elements.
    private struct Rule {
        let rate, decay, momentum, dampening: Float
        let nesterov, first: Bool

        /// `g ← ∇ + λ·p`, the momentum buffer `b` (unused when μ = 0), `p ← p − lr·g` on 8 lanes.
        @inline(__always)
        func update(_ gradient: SIMD8<Float>, _ buffer: inout SIMD8<Float>, _ parameter: inout SIMD8<Float>) {
            var step = decay != 0 ? gradient + decay * parameter : gradient
            if momentum != 0 {
                buffer = first ? step : momentum * buffer + (1 - dampening) * step
                step = nesterov ? step + momentum * buffer : buffer
            }
            parameter += -rate * step
        }

        /// Updates elements `range` (`ParameterUpdate.eightAtATime`).
        func apply(_ range: Range<Int>, gradient g: UnsafeMutablePointer<Float>, buffer b: UnsafeMutablePointer<Float>,
                   parameter p: UnsafeMutablePointer<Float>) {
            ParameterUpdate.eightAtATime(range, gradient: g, b, b, parameter: p, stores: (momentum != 0, false)) { g, b, _, p in
                update(g, &b, &p)
            }
        }
    }
}

extension Tensor {
    /// `self += scale·other`.
    mutating func addScaled(_ other: Tensor, _ scale: Float) {
        other.withUnsafeBufferPointer { b in
            withUnsafeMutableBufferPointer { a in for i in a.indices { a[i] += scale * b[i] } }
        }
    }

    /// `self = decay·self + scale·other`.
    mutating func scaleAndAdd(_ decay: Float, _ other: Tensor, _ scale: Float) {
        other.withUnsafeBufferPointer { b in
            withUnsafeMutableBufferPointer { a in for i in a.indices { a[i] = decay * a[i] + scale * b[i] } }
        }
    }
}
