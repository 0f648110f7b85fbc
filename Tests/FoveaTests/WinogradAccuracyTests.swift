import Fovea
import FoveaTestSupport
import Testing

/// The numerical error of Winograd F(2×2,3×3) and F(4×4,3×3) on the channel counts of every 3×3
/// layer of the ImageNet suite (Benchmarks/FoveaBenchKit/LayerSuite.swift), at a reduced 8×8
/// image (two F(4×4) tiles a side; the error of an output does not depend on the image size),
/// batch 1, realistic operands: x ~ N(0, 1), w ~ N(0, 2/(9C)) (He initialisation), bias 0.
/// The reference is `naive`, which sums in Double: float64 direct convolution rounded once.
/// im2col + GEMM (float32 direct convolution) is measured beside them. To keep the reference
/// cheap it is computed for the first 32 output channels (forward) and the first 32 input
/// channels (backward-data) only — an output's error depends only on its own filter(s), so those
/// are compared with the same channels of the full-size results. The test prints one line per
/// layer (the table in Docs/Performance.md) and bounds the error relative to max |y|.
@Suite("Winograd accuracy on the suite's 3×3 layers")
struct WinogradAccuracyTests {
    static let layers: [(name: String, c: Int, k: Int, padding: Int)] = [
        ("alexnet.conv3", 192, 384, 1), ("alexnet.conv4", 384, 256, 1), ("alexnet.conv5 / resnet50 @14", 256, 256, 1),
        ("vgg16 3→64", 3, 64, 1), ("vgg16 64→64 / resnet50 @56", 64, 64, 1), ("vgg16 64→128", 64, 128, 1),
        ("vgg16 128→256", 128, 256, 1), ("vgg16 256→512", 256, 512, 1), ("vgg16 / resnet50 512→512", 512, 512, 1),
        ("resnet50 128→128", 128, 128, 1), ("densenet121 growth 128→32", 128, 32, 1), ("convnet-benchmarks L5 (pad 0)", 384, 384, 0),
    ]

    /// Bound on max |Δ| / max |y|: the worst F(4×4) figure measured here is ≈ 1.5e-5
    /// (im2col and F(2×2): < 1e-6); 1e-4 leaves a margin of about 6×.
    static let tolerance = 1e-4

    /// The first `count` channels along axis 0 (`first`) or axis 1 of a `[A, B, …]` tensor.
    static func leading(_ t: Tensor, _ count: Int, axis: Int) -> Tensor {
        let shape = t.shape
        let inner = shape.dimensions.dropFirst(2).reduce(1, *)
        let (a, b) = (shape[0], shape[1])
        let source = t.scalars
        if axis == 0 { return Tensor(shape: Shape([count, b] + Array(shape.dimensions.dropFirst(2))), scalars: Array(source[0..<(count * b * inner)])) }
        var result: [Float] = []
        for i in 0..<a { result += source[(i * b * inner)..<((i * b + count) * inner)] }
        return Tensor(shape: Shape([a, count] + Array(shape.dimensions.dropFirst(2))), scalars: result)
    }

    struct Errors: CustomStringConvertible {
        var maxAbsolute: Double, maxRelativeToScale: Double, rmsRelative: Double
        init(_ actual: Tensor, _ expected: Tensor) {
            let (a, e) = (actual.scalars, expected.scalars)
            var (worst, squared, reference, scale) = (0.0, 0.0, 0.0, 0.0)
            for i in e.indices {
                let d = Double(a[i]) - Double(e[i])
                worst = max(worst, abs(d))
                squared += d * d
                reference += Double(e[i]) * Double(e[i])
                scale = max(scale, abs(Double(e[i])))
            }
            maxAbsolute = worst
            maxRelativeToScale = worst / max(scale, 1e-30)
            rmsRelative = (squared / max(reference, 1e-300)).squareRoot()
        }
        var description: String {
            String(format: "max|Δ| %.2e, max|Δ|/max|y| %.2e, ‖Δ‖/‖y‖ %.2e", maxAbsolute, maxRelativeToScale, rmsRelative)
        }
    }

    @Test func errorsOnSuiteLayers() throws {
        let engines: [(String, any Device)] = [
            ("im2col", DispatchDevice(threads: 2, fallback: nil, winograd: .never)),
            ("F(2×2)", DispatchDevice(threads: 2, fallback: nil, winograd: .always, winogradTileSize: .f2x2)),
            ("F(4×4)", DispatchDevice(threads: 2, fallback: nil, winograd: .always, winogradTileSize: .f4x4)),
        ]
        for (index, layer) in Self.layers.enumerated() {
            let g = try Conv2DGeometry(inputShape: [1, layer.c, 8, 8], weightShape: [layer.k, layer.c, 3, 3],
                                       options: Conv2DOptions(padding: Size2D(layer.padding)))
            var generator = SeededGenerator(seed: 4242 + UInt64(index))
            let x = Tensor.randomNormal(g.inputShape, using: &generator)
            let w = Tensor.randomNormal(g.weightShape, standardDeviation: Float((2.0 / Double(9 * layer.c)).squareRoot()), using: &generator)
            let dy = Tensor.randomNormal(g.outputShape, using: &generator)
            // References for output channels 0..<k' (forward) and input channels 0..<c' (backward-data).
            let (kSub, cSub) = (min(32, layer.k), min(32, layer.c))
            let forwardSub = try Conv2DGeometry(inputShape: g.inputShape, weightShape: [kSub, layer.c, 3, 3], options: g.options)
            let dataSub = try Conv2DGeometry(inputShape: [1, cSub, 8, 8], weightShape: [layer.k, cSub, 3, 3], options: g.options)
            let expected = TestDevices.naive.conv2dForward(input: x, weight: Self.leading(w, kSub, axis: 0), bias: nil, geometry: forwardSub)
            let expectedData = TestDevices.naive.conv2dBackwardData(gradOutput: dy, weight: Self.leading(w, cSub, axis: 1), geometry: dataSub)
            var line = "winograd-accuracy | \(layer.name) | \(layer.c)→\(layer.k) pad \(layer.padding)"
            for (label, device) in engines {
                let forward = Errors(Self.leading(device.conv2dForward(input: x, weight: w, bias: nil, geometry: g), kSub, axis: 1), expected)
                let data = Errors(Self.leading(device.conv2dBackwardData(gradOutput: dy, weight: w, geometry: g), cSub, axis: 1), expectedData)
                line += " | \(label) fwd \(forward) | bwd-data \(data)"
                #expect(forward.maxRelativeToScale <= Self.tolerance, "\(label) forward \(layer.name): \(forward)")
                #expect(data.maxRelativeToScale <= Self.tolerance, "\(label) backward-data \(layer.name): \(data)")
            }
            print(line)
        }
    }
}
