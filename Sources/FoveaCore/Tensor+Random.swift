extension Tensor {
    /// Samples from a normal distribution `N(mean, standardDeviation²)`, reproducibly from `seed`.
    public static func randomNormal(
        _ shape: Shape, mean: Float = 0, standardDeviation: Float = 1, seed: UInt64
    ) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        return randomNormal(shape, mean: mean, standardDeviation: standardDeviation, using: &generator)
    }

    /// Samples from a normal distribution using the caller's generator.
    public static func randomNormal(
        _ shape: Shape, mean: Float = 0, standardDeviation: Float = 1, using generator: inout SeededGenerator
    ) -> Tensor {
        var tensor = Tensor(zeros: shape)
        tensor.withUnsafeMutableBufferPointer { values in
            for i in values.indices { values[i] = mean + standardDeviation * generator.nextStandardNormal() }
        }
        return tensor
    }

    /// Samples uniformly from `range` (`[lower, upper)`), reproducibly from `seed`.
    public static func randomUniform(_ shape: Shape, in range: ClosedRange<Float> = 0...1, seed: UInt64) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        return randomUniform(shape, in: range, using: &generator)
    }

    /// Samples uniformly from `range` using the caller's generator.
    public static func randomUniform(
        _ shape: Shape, in range: ClosedRange<Float> = 0...1, using generator: inout SeededGenerator
    ) -> Tensor {
        var tensor = Tensor(zeros: shape)
        let width = range.upperBound - range.lowerBound
        tensor.withUnsafeMutableBufferPointer { values in
            for i in values.indices { values[i] = range.lowerBound + width * generator.nextUnitFloat() }
        }
        return tensor
    }
}
