/// Weight initialisation schemes, seeded. `fanIn` of a conv weight `[K, C/g, R, S]` is
/// `(C/g)·R·S` and `fanOut` is `K·R·S`; of a linear weight `[O, I]`, I and O.
///
/// Inside `Initializer.withoutRandomValues { … }` every scheme gives zeros instead.
public enum Initializer {
    /// False inside `withoutRandomValues(_:)`.
    @TaskLocal public static var drawsRandomValues = true

    /// Runs `body` — typically building a model — with every initialisation scheme giving zeros
    /// instead of random values (batch norm keeps its ones), for the model's structure alone:
    /// to inspect shapes or count parameters, or before loading weights into it. Drawing the
    /// random values is most of the cost of building a large model (VGG-16 has 138 M).
    public static func withoutRandomValues<R>(_ body: () throws -> R) rethrows -> R {
        try $drawsRandomValues.withValue(false, operation: body)
    }

    /// Which fan Kaiming initialisation preserves the variance of.
    public enum Fan: Sendable { case fanIn, fanOut }

    /// The fans of a weight shape (`[O, I]` or `[K, C/g, R, S]`).
    public static func fans(of shape: Shape) -> (fanIn: Int, fanOut: Int) {
        let receptive = shape.dimensions.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// PyTorch's default for `Conv2d` and `Linear` weights and biases: uniform in `±1/√fanIn`
    /// (Kaiming uniform with a = √5, for the weight; the same bound for the bias).
    public static func pytorchDefault(_ shape: Shape, fanIn: Int, using generator: inout SeededGenerator) -> Tensor {
        guard drawsRandomValues else { return Tensor(zeros: shape) }
        let bound = 1 / Float(max(fanIn, 1)).squareRoot()
        return Tensor.randomUniform(shape, in: -bound...bound, using: &generator)
    }

    /// He et al.: normal with `std = gain/√fan`, gain √2 for ReLU (PyTorch's
    /// `kaiming_normal_(mode:, nonlinearity: "relu")`).
    public static func kaimingNormal(_ shape: Shape, fan: Fan = .fanIn, gain: Float = Float(2).squareRoot(), seed: UInt64) -> Tensor {
        guard drawsRandomValues else { return Tensor(zeros: shape) }
        let (fanIn, fanOut) = fans(of: shape)
        let std = gain / Float(fan == .fanIn ? fanIn : fanOut).squareRoot()
        return Tensor.randomNormal(shape, standardDeviation: std, seed: seed)
    }

    /// He et al., uniform: bound `gain·√(3/fan)`.
    public static func kaimingUniform(_ shape: Shape, fan: Fan = .fanIn, gain: Float = Float(2).squareRoot(), seed: UInt64) -> Tensor {
        guard drawsRandomValues else { return Tensor(zeros: shape) }
        let (fanIn, fanOut) = fans(of: shape)
        let bound = gain * (3 / Float(fan == .fanIn ? fanIn : fanOut)).squareRoot()
        return Tensor.randomUniform(shape, in: -bound...bound, seed: seed)
    }

    /// Glorot & Bengio: normal with `std = gain·√(2/(fanIn + fanOut))`.
    public static func xavierNormal(_ shape: Shape, gain: Float = 1, seed: UInt64) -> Tensor {
        guard drawsRandomValues else { return Tensor(zeros: shape) }
        let (fanIn, fanOut) = fans(of: shape)
        return Tensor.randomNormal(shape, standardDeviation: gain * (2 / Float(fanIn + fanOut)).squareRoot(), seed: seed)
    }

    /// Glorot & Bengio, uniform: bound `gain·√(6/(fanIn + fanOut))`.
    public static func xavierUniform(_ shape: Shape, gain: Float = 1, seed: UInt64) -> Tensor {
        guard drawsRandomValues else { return Tensor(zeros: shape) }
        let (fanIn, fanOut) = fans(of: shape)
        let bound = gain * (6 / Float(fanIn + fanOut)).squareRoot()
        return Tensor.randomUniform(shape, in: -bound...bound, seed: seed)
    }

    /// Normal with mean 0 and `standardDeviation` (PyTorch's `normal_(0, std)`, e.g. VGG's linear
    /// layers with 0.01).
    public static func normal(_ shape: Shape, standardDeviation: Float, seed: UInt64) -> Tensor {
        guard drawsRandomValues else { return Tensor(zeros: shape) }
        return Tensor.randomNormal(shape, standardDeviation: standardDeviation, seed: seed)
    }
}
