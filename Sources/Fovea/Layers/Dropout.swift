/// Dropout (PyTorch's `nn.Dropout`): in training mode each element is zeroed with probability p
/// and the survivors are scaled by `1/(1−p)`; in evaluation mode it is the identity.
/// The mask comes from the layer's own seeded generator, so runs are reproducible and every
/// backend sees the same mask.
public final class Dropout: Layer {
    public let probability: Float
    private var generator: SeededGenerator
    private var savedMask: Tensor?

    /// - Throws: `.invalidArgument` unless `probability` is in [0, 1).
    public init(probability: Float = 0.5, seed: UInt64 = 0) throws {
        try ArgumentCheck("Dropout").fraction(probability, "probability", includingOne: false)
        self.probability = probability
        generator = SeededGenerator(seed: seed)
        super.init()
    }

    /// Re-seeds the mask generator.
    public func reseed(_ seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// The mask generator's state; checkpoints save and restore it so a resumed run draws the
    /// same masks as an uninterrupted one.
    public var generatorState: [UInt64] {
        get { generator.state }
        set { generator.state = newValue }
    }

    public override func forward(_ input: Tensor, device: any Device) throws -> Tensor {
        guard isTraining, probability > 0 else {
            savedMask = nil
            return input
        }
        var mask = Tensor(zeros: input.shape)
        let keep = 1 / (1 - probability)
        mask.withUnsafeMutableBufferPointer { m in
            for i in m.indices { m[i] = generator.nextUnitFloat() < probability ? 0 : keep }
        }
        savedMask = mask
        return device.multiply(input, mask)
    }

    public override func backward(_ gradOutput: Tensor, device: any Device) throws -> Tensor {
        guard isTraining, probability > 0 else { return gradOutput }
        guard let mask = savedMask else { throw missingForwardError() }
        return device.multiply(gradOutput, mask)
    }
}
