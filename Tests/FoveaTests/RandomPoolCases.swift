import Fovea

/// A pooling configuration with a seeded random input and output gradient.
struct PoolCase: CustomStringConvertible {
    var geometry: Pool2DGeometry
    var input: Tensor
    var gradOutput: Tensor

    var description: String { "\(geometry), countIncludesPadding \(geometry.options.countIncludesPadding)" }

    init(input inputShape: Shape, options: Pool2DOptions, seed: UInt64) throws {
        geometry = try Pool2DGeometry(inputShape: inputShape, options: options)
        var generator = SeededGenerator(seed: seed)
        input = Tensor.randomNormal(inputShape, using: &generator)
        gradOutput = Tensor.randomNormal(geometry.outputShape, using: &generator)
    }

    /// Randomised configurations: odd and non-square images, non-square kernels 1–4, stride 1–3,
    /// padding 0…kernel/2, dilation 1–2, batch 1–3, both `countIncludesPadding` values, plus fixed
    /// corner cases (below).
    static func randomized(count: Int, seed: UInt64) -> [PoolCase] {
        var generator = SeededGenerator(seed: seed)
        func pick(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
        var cases: [PoolCase] = []
        while cases.count < count {
            let kernel = Size2D(height: pick(1...4), width: pick(1...4))
            let options = Pool2DOptions(
                kernel: kernel,
                stride: Size2D(height: pick(1...3), width: pick(1...3)),
                padding: Size2D(height: pick(0...kernel.height / 2), width: pick(0...kernel.width / 2)),
                dilation: Size2D(height: pick(1...2), width: pick(1...2)),
                countIncludesPadding: pick(0...1) == 1)
            let input: Shape = [pick(1...3), pick(1...4), pick(1...13), pick(1...13)]
            // Skip draws whose window does not fit; the error path has its own tests.
            if let poolCase = try? PoolCase(input: input, options: options, seed: UInt64(cases.count) &+ seed) {
                cases.append(poolCase)
            }
        }
        return cases + fixed
    }

    static var fixed: [PoolCase] {
        [
            // AlexNet/ResNet-style overlapping 3×3/2 with padding, one plane: split into row blocks.
            try! PoolCase(input: [1, 1, 31, 27], options: Pool2DOptions(kernel: 3, stride: 2, padding: 1), seed: 201),
            try! PoolCase(input: [2, 3, 8, 8], options: Pool2DOptions(kernel: 2), seed: 202),  // VGG-style 2×2/2
            try! PoolCase(input: [2, 2, 5, 7], options: Pool2DOptions(kernel: Size2D(height: 5, width: 7)), seed: 203),  // whole plane
            try! PoolCase(input: [1, 3, 4, 5], options: Pool2DOptions(kernel: 1), seed: 204),  // 1×1 is the identity
            try! PoolCase(input: [3, 1, 7, 6], options: Pool2DOptions(kernel: 4, stride: 1, padding: 2, countIncludesPadding: false), seed: 205),
            // Dilation 3 on a 2×2 image: the single window's taps all fall in the padding.
            try! PoolCase(input: [1, 2, 2, 2], options: Pool2DOptions(kernel: 2, padding: 1, dilation: 3, countIncludesPadding: false), seed: 206),
        ]
    }
}

/// An adaptive average pooling configuration with seeded random operands.
struct AdaptiveCase: CustomStringConvertible {
    var outputSize: Size2D
    var input: Tensor
    var gradOutput: Tensor

    var description: String { "adaptive \(input.shape) -> \(outputSize)" }

    init(input inputShape: Shape, outputSize: Size2D, seed: UInt64) {
        self.outputSize = outputSize
        var generator = SeededGenerator(seed: seed)
        input = Tensor.randomNormal(inputShape, using: &generator)
        gradOutput = Tensor.randomNormal([inputShape[0], inputShape[1], outputSize.height, outputSize.width], using: &generator)
    }

    /// Output sizes that divide the input and that do not, larger than the input, and 1×1 (global).
    static func randomized(count: Int, seed: UInt64) -> [AdaptiveCase] {
        var generator = SeededGenerator(seed: seed)
        func pick(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
        var cases: [AdaptiveCase] = []
        for index in 0..<count {
            let (height, width) = (pick(1...13), pick(1...13))
            let outputSize = Size2D(height: pick(1...height + 2), width: pick(1...width + 2))
            cases.append(AdaptiveCase(input: [pick(1...3), pick(1...4), height, width], outputSize: outputSize, seed: seed &+ UInt64(index)))
        }
        return cases + [
            AdaptiveCase(input: [2, 3, 12, 8], outputSize: Size2D(height: 4, width: 2), seed: 301),  // divides
            AdaptiveCase(input: [2, 3, 7, 5], outputSize: Size2D(height: 3, width: 2), seed: 302),  // does not divide
            AdaptiveCase(input: [3, 4, 7, 7], outputSize: 1, seed: 303),  // global
            AdaptiveCase(input: [1, 2, 3, 2], outputSize: Size2D(height: 5, width: 4), seed: 304),  // larger than the input
            AdaptiveCase(input: [1, 1, 29, 23], outputSize: Size2D(height: 6, width: 6), seed: 305),  // one plane: row blocks
        ]
    }
}
