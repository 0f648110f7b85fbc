import Fovea
import FoveaTestSupport
import Testing

/// Small pooling examples whose answers follow from the definitions by hand, on every device.
@Suite("Pooling by hand")
struct PoolingTests {
    /// One (n, c) plane as a `[1, 1, H, W]` tensor.
    func plane(_ rows: [[Float]]) -> Tensor {
        Tensor(shape: [1, 1, rows.count, rows[0].count], scalars: rows.flatMap { $0 })
    }

    func geometry(_ input: Tensor, _ options: Pool2DOptions) -> Pool2DGeometry {
        try! Pool2DGeometry(inputShape: input.shape, options: options)
    }

    /// x = 1…16 row-major on a 4×4 plane, 2×2/2: each window's largest value is its bottom-right.
    @Test(arguments: TestDevices.all)
    func maxPoolPicksEachWindowsLargest(device: LabeledDevice) {
        let x = plane([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]])
        let g = geometry(x, Pool2DOptions(kernel: 2))
        let result = device.device.maxPool2dForward(input: x, geometry: g)
        #expect(result.output.shape == [1, 1, 2, 2])
        #expect(result.output.scalars == [6, 8, 14, 16])
        #expect(result.argmax == [5, 7, 13, 15])
        let gradient = device.device.maxPool2dBackward(gradOutput: Tensor(shape: [1, 1, 2, 2], scalars: [1, 2, 3, 4]), argmax: result.argmax, geometry: g)
        #expect(gradient.scalars == [0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4])
    }

    /// Windows 1×2 with stride 1 over [0, 5, 1]: both take the 5, whose gradient is the sum.
    @Test(arguments: TestDevices.all)
    func maxPoolBackwardSumsOverlappingWindows(device: LabeledDevice) {
        let x = plane([[0, 5, 1]])
        let g = geometry(x, Pool2DOptions(kernel: Size2D(height: 1, width: 2), stride: 1))
        let result = device.device.maxPool2dForward(input: x, geometry: g)
        #expect(result.argmax == [1, 1])
        let gradient = device.device.maxPool2dBackward(gradOutput: Tensor(shape: [1, 1, 1, 2], scalars: [0.25, 2]), argmax: result.argmax, geometry: g)
        #expect(gradient.scalars == [0, 2.25, 0])
    }

    /// Equal values: the first in row-major window order wins, and padding (−∞) never does.
    @Test(arguments: TestDevices.all)
    func maxPoolTiesGoToTheFirstInImagePosition(device: LabeledDevice) {
        let diagonal = device.device.maxPool2dForward(input: plane([[3, 9], [9, 1]]), geometry: geometry(plane([[3, 9], [9, 1]]), Pool2DOptions(kernel: 2)))
        #expect(diagonal.output.scalars == [9])
        #expect(diagonal.argmax == [1])

        // 2×2 plane of 7s, 2×2 windows, stride 1, padding 1: window (p, q) covers rows p−1…p and
        // columns q−1…q, so its first in-image position is (max(p−1, 0), max(q−1, 0)).
        let sevens = plane([[7, 7], [7, 7]])
        let result = device.device.maxPool2dForward(input: sevens, geometry: geometry(sevens, Pool2DOptions(kernel: 2, stride: 1, padding: 1)))
        var expected: [Int32] = []
        for p in 0..<3 {
            for q in 0..<3 { expected.append(Int32(max(p - 1, 0) * 2 + max(q - 1, 0))) }
        }
        #expect(result.output.scalars == [Float](repeating: 7, count: 9))
        #expect(result.argmax == expected)
    }

    /// A NaN wins its window (and only its window), and its window's gradient goes to it.
    @Test(arguments: TestDevices.all)
    func maxPoolPropagatesNaN(device: LabeledDevice) {
        let x = plane([[1, .nan, 2, 3], [4, 5, 6, 7]])
        let g = geometry(x, Pool2DOptions(kernel: 2))
        let result = device.device.maxPool2dForward(input: x, geometry: g)
        #expect(result.output[0, 0, 0, 0].isNaN)
        #expect(result.output[0, 0, 0, 1] == 7)
        #expect(result.argmax == [1, 7])
        let gradient = device.device.maxPool2dBackward(gradOutput: Tensor(shape: [1, 1, 1, 2], scalars: [2, 3]), argmax: result.argmax, geometry: g)
        #expect(gradient.scalars == [0, 2, 0, 0, 0, 0, 0, 3])

        // Each NaN replaces the current choice, so of several NaNs the last is taken (as PyTorch).
        let twoNaNs = plane([[.nan, 1], [.nan, 2]])
        #expect(device.device.maxPool2dForward(input: twoNaNs, geometry: geometry(twoNaNs, Pool2DOptions(kernel: 2))).argmax == [2])
    }

    /// Dilation 3 on a 2×2 image with padding 1: the one window's taps are rows and columns −1 and
    /// 2, all padding. Max gives −∞ with argmax −1 (no gradient); average gives 0 either way.
    @Test(arguments: TestDevices.all)
    func windowEntirelyInPadding(device: LabeledDevice) {
        let x = plane([[1, 2], [3, 4]])
        for countIncludesPadding in [true, false] {
            let g = geometry(x, Pool2DOptions(kernel: 2, padding: 1, dilation: 3, countIncludesPadding: countIncludesPadding))
            #expect(g.outputShape == [1, 1, 1, 1])
            let result = device.device.maxPool2dForward(input: x, geometry: g)
            #expect(result.output.scalars == [-.infinity])
            #expect(result.argmax == [-1])
            #expect(device.device.maxPool2dBackward(gradOutput: Tensor(repeating: 1, shape: [1, 1, 1, 1]), argmax: [-1], geometry: g).scalars == [0, 0, 0, 0])
            #expect(device.device.avgPool2dForward(input: x, geometry: g).scalars == [0])
            #expect(device.device.avgPool2dBackward(gradOutput: Tensor(repeating: 1, shape: [1, 1, 1, 1]), geometry: g).scalars == [0, 0, 0, 0])
        }
    }

    /// [[1, 2], [3, 4]] with 2×2 windows, stride 1, padding 1: every window holds 1, 2 or 4 image
    /// values. Counting padding divides by 4; not counting it divides by how many are in the image.
    @Test(arguments: TestDevices.all)
    func averagePoolWithAndWithoutPadding(device: LabeledDevice) {
        let x = plane([[1, 2], [3, 4]])
        let counted = geometry(x, Pool2DOptions(kernel: 2, stride: 1, padding: 1, countIncludesPadding: true))
        let sums: [Float] = [1, 1 + 2, 2, 1 + 3, 1 + 2 + 3 + 4, 2 + 4, 3, 3 + 4, 4]
        let inside: [Float] = [1, 2, 1, 2, 4, 2, 1, 2, 1]
        expectClose(device.device.avgPool2dForward(input: x, geometry: counted),
                    Tensor(shape: [1, 1, 3, 3], scalars: sums.map { $0 / 4 }), absolute: 1e-6, relative: 1e-6, "\(device) counting padding")
        let uncounted = geometry(x, Pool2DOptions(kernel: 2, stride: 1, padding: 1, countIncludesPadding: false))
        expectClose(device.device.avgPool2dForward(input: x, geometry: uncounted),
                    Tensor(shape: [1, 1, 3, 3], scalars: zip(sums, inside).map { $0 / $1 }), absolute: 1e-6, relative: 1e-6, "\(device) not counting padding")

        // Backward of ones: every input is in four windows. Counting padding, each gives 1/4;
        // not counting it, a corner window gives 1, two edge windows 1/2 each, the centre 1/4.
        let ones = Tensor(repeating: 1, shape: [1, 1, 3, 3])
        expectClose(device.device.avgPool2dBackward(gradOutput: ones, geometry: counted),
                    Tensor(repeating: 1, shape: [1, 1, 2, 2]), absolute: 1e-6, relative: 1e-6, "\(device) backward counting padding")
        expectClose(device.device.avgPool2dBackward(gradOutput: ones, geometry: uncounted),
                    Tensor(repeating: 1 + 0.5 + 0.5 + 0.25, shape: [1, 1, 2, 2]), absolute: 1e-6, relative: 1e-6, "\(device) backward not counting padding")
    }

    /// With dilation, a window has kH·kW taps; counting padding divides by all of them, otherwise
    /// by the taps in the image. Row [1, 2, 3, 4, 5], 1×3 taps 2 apart, padding 1: the windows read
    /// columns (−1, 1, 3), (0, 2, 4), (1, 3, 5).
    @Test(arguments: TestDevices.all)
    func dilatedAveragePoolDivisor(device: LabeledDevice) {
        let x = plane([[1, 2, 3, 4, 5]])
        let options = Pool2DOptions(kernel: Size2D(height: 1, width: 3), stride: 1, padding: Size2D(height: 0, width: 1), dilation: Size2D(height: 1, width: 2))
        let sums: [Float] = [2 + 4, 1 + 3 + 5, 2 + 4]
        expectClose(device.device.avgPool2dForward(input: x, geometry: geometry(x, options)),
                    Tensor(shape: [1, 1, 1, 3], scalars: sums.map { $0 / 3 }), absolute: 1e-6, relative: 1e-6, "\(device) counting padding")
        var uncounted = options
        uncounted.countIncludesPadding = false
        expectClose(device.device.avgPool2dForward(input: x, geometry: geometry(x, uncounted)),
                    Tensor(shape: [1, 1, 1, 3], scalars: [sums[0] / 2, sums[1] / 3, sums[2] / 2]), absolute: 1e-6, relative: 1e-6, "\(device) not counting padding")
    }

    /// Output q of a row of 5 into 3 averages columns ⌊5q/3⌋ ..< ⌈5(q+1)/3⌉: 0..<2, 1..<4, 3..<5.
    /// A row of 2 into 3: 0..<1, 0..<2, 1..<2. A 1×1 output is the plane's mean.
    @Test(arguments: TestDevices.all)
    func adaptiveAveragePoolWindows(device: LabeledDevice) {
        let row = plane([[1, 2, 3, 4, 5]])
        expectClose(device.device.adaptiveAvgPool2dForward(input: row, outputSize: Size2D(height: 1, width: 3)),
                    Tensor(shape: [1, 1, 1, 3], scalars: [(1 + 2) / 2, (2 + 3 + 4) / 3, (4 + 5) / 2]), absolute: 1e-6, relative: 1e-6, "\(device) 5 → 3")
        let pair = plane([[2, 6]])
        expectClose(device.device.adaptiveAvgPool2dForward(input: pair, outputSize: Size2D(height: 1, width: 3)),
                    Tensor(shape: [1, 1, 1, 3], scalars: [2, 4, 6]), absolute: 1e-6, relative: 1e-6, "\(device) 2 → 3")
        let x = plane([[1, 2, 3], [4, 5, 6]])
        expectClose(device.device.adaptiveAvgPool2dForward(input: x, outputSize: 1),
                    Tensor(shape: [1, 1, 1, 1], scalars: [21 / 6]), absolute: 1e-6, relative: 1e-6, "\(device) global")
        expectClose(device.device.adaptiveAvgPool2dBackward(gradOutput: Tensor(repeating: 3, shape: [1, 1, 1, 1]), inputShape: x.shape),
                    Tensor(repeating: 0.5, shape: x.shape), absolute: 1e-6, relative: 1e-6, "\(device) global backward")
    }

    /// When the output size divides the input, adaptive pooling is ordinary average pooling with
    /// kernel = stride = input/output (no padding).
    @Test(arguments: TestDevices.all)
    func adaptiveEqualsAveragePoolWhenSizesDivide(device: LabeledDevice) throws {
        let x = Tensor.randomNormal([2, 3, 12, 9], seed: 7)
        let g = try Pool2DGeometry(inputShape: x.shape, options: Pool2DOptions(kernel: Size2D(height: 4, width: 3)))
        expectClose(device.device.adaptiveAvgPool2dForward(input: x, outputSize: Size2D(height: 3, width: 3)),
                    device.device.avgPool2dForward(input: x, geometry: g), absolute: 1e-5, relative: 1e-5, "\(device) forward")
        let dy = Tensor.randomNormal(g.outputShape, seed: 8)
        expectClose(device.device.adaptiveAvgPool2dBackward(gradOutput: dy, inputShape: x.shape),
                    device.device.avgPool2dBackward(gradOutput: dy, geometry: g), absolute: 1e-5, relative: 1e-5, "\(device) backward")
    }
}
