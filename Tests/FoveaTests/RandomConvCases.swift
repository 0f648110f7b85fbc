import Fovea

/// A convolution configuration with its seeded random operands.
struct ConvCase: CustomStringConvertible {
    var geometry: Conv2DGeometry
    var input: Tensor
    var weight: Tensor
    var bias: Tensor
    var gradOutput: Tensor

    var description: String { geometry.description }

    init(input inputShape: Shape, weight weightShape: Shape, options: Conv2DOptions, seed: UInt64) throws {
        geometry = try Conv2DGeometry(inputShape: inputShape, weightShape: weightShape, options: options)
        var generator = SeededGenerator(seed: seed)
        input = Tensor.randomNormal(inputShape, using: &generator)
        weight = Tensor.randomNormal(weightShape, standardDeviation: 0.5, using: &generator)
        bias = Tensor.randomNormal([weightShape[0]], using: &generator)
        gradOutput = Tensor.randomNormal(geometry.outputShape, using: &generator)
    }

    /// Randomised configurations: odd sizes, non-square images and kernels, stride 1–3,
    /// padding 0–3, dilation 1–3, groups (including depthwise), batch 1 and > 1, plus fixed
    /// corner cases (pointwise 1×1, kernel as large as the padded input, many channels).
    static func randomized(count: Int, seed: UInt64) -> [ConvCase] {
        var generator = SeededGenerator(seed: seed)
        func pick(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
        var cases: [ConvCase] = []
        while cases.count < count {
            let groupsChoice = pick(0...3)
            let channelsPerGroup = pick(1...4)
            let groups = groupsChoice == 0 ? pick(2...3) : 1
            let depthwise = groupsChoice == 1
            let inputChannels = depthwise ? pick(2...5) : channelsPerGroup * groups
            let effectiveGroups = depthwise ? inputChannels : groups
            let outputChannels = effectiveGroups * pick(1...3)
            let options = Conv2DOptions(
                stride: Size2D(height: pick(1...3), width: pick(1...3)),
                padding: Size2D(height: pick(0...3), width: pick(0...3)),
                dilation: Size2D(height: pick(1...3), width: pick(1...3)),
                groups: effectiveGroups)
            let weight: Shape = [outputChannels, inputChannels / effectiveGroups, pick(1...4), pick(1...4)]
            let input: Shape = [pick(1...3), inputChannels, pick(1...13), pick(1...13)]
            // Skip draws whose kernel does not fit; the error path has its own tests.
            if let convCase = try? ConvCase(input: input, weight: weight, options: options, seed: UInt64(cases.count) &+ seed) {
                cases.append(convCase)
            }
        }
        return cases + fixed
    }

    static var fixed: [ConvCase] {
        [
            try! ConvCase(input: [2, 7, 5, 6], weight: [5, 7, 1, 1], options: Conv2DOptions(), seed: 101),  // pointwise
            try! ConvCase(input: [1, 3, 5, 4], weight: [2, 3, 7, 6], options: Conv2DOptions(padding: 1), seed: 102),  // kernel = padded input
            try! ConvCase(input: [2, 40, 9, 11], weight: [35, 40, 3, 3], options: Conv2DOptions(padding: 1), seed: 103),  // several GEMM panels
            try! ConvCase(input: [1, 8, 23, 19], weight: [8, 1, 3, 3], options: Conv2DOptions(stride: 2, padding: 1, groups: 8), seed: 104),  // depthwise
            try! ConvCase(input: [3, 4, 16, 16], weight: [9, 4, 5, 5], options: Conv2DOptions(stride: 1, padding: 2), seed: 105),
            // 3×3 stride 1 (Winograd on the devices that force it): no padding, and padding 2.
            try! ConvCase(input: [3, 5, 13, 10], weight: [6, 5, 3, 3], options: Conv2DOptions(), seed: 106),
            try! ConvCase(input: [1, 1, 7, 11], weight: [1, 1, 3, 3], options: Conv2DOptions(padding: 2), seed: 107),
        ]
    }
}
