import Fovea
import FoveaTestSupport
import Testing

/// Dispatch's max pooling takes 16 windows at a time inside wide rows, and 2×2 windows of narrow
/// rows one by one with their four taps read directly: the same maxima (bit for bit)
/// and the same argmax as naive's rule — ties to the first tap in row-major order, NaN wins — with
/// many ties (values on a coarse grid, ±0) and NaNs in some windows.
@Suite("Max pooling 16 windows at a time")
struct VectorMaxPoolTests {
    static func input(_ shape: Shape, seed: UInt64) -> Tensor {
        var values = Tensor.randomNormal(shape, seed: seed).scalars.map { ($0 * 2).rounded() / 2 }
        for i in stride(from: 0, to: values.count, by: 7) { values[i] = (i / 7) % 2 == 0 ? 0 : -0.0 }
        for i in stride(from: 5, to: values.count, by: 997) { values[i] = .nan }
        return Tensor(shape: shape, scalars: values)
    }

    @Test func matchesNaiveExactly() throws {
        let device = try Devices.make("dispatch", threads: 2)
        for (shape, options) in [(Shape([2, 3, 37, 70]), Pool2DOptions(kernel: 3, stride: 2, padding: 1)),
                                 (Shape([1, 2, 20, 53]), Pool2DOptions(kernel: 2, stride: 2)),
                                 // Rows too narrow for 16 windows: cnn-bn's pools, 2×2 windows one by one (MaxWindow2x2).
                                 (Shape([2, 3, 28, 28]), Pool2DOptions(kernel: 2, stride: 2)),
                                 (Shape([2, 4, 14, 14]), Pool2DOptions(kernel: 2, stride: 2)),
                                 (Shape([1, 2, 9, 41]), Pool2DOptions(kernel: 3, stride: 1, padding: 1)),
                                 (Shape([1, 1, 8, 80]), Pool2DOptions(kernel: Size2D(height: 2, width: 5), stride: Size2D(height: 1, width: 2), padding: Size2D(height: 0, width: 2)))]
                as [(Shape, Pool2DOptions)] {
            let g = try Pool2DGeometry(inputShape: shape, options: options)
            let x = Self.input(shape, seed: UInt64(shape[3]))
            let actual = device.maxPool2dForward(input: x, geometry: g)
            let expected = NaiveDevice().maxPool2dForward(input: x, geometry: g)
            #expect(actual.argmax == expected.argmax, "\(g)")
            let (a, e) = (actual.output.scalars, expected.output.scalars)
            let mismatches = a.indices.filter { a[$0].bitPattern != e[$0].bitPattern && !(a[$0].isNaN && e[$0].isNaN) }
            #expect(mismatches.isEmpty, "\(g): \(mismatches.prefix(5))")
            #expect(e.contains { $0.isNaN } && e.contains { $0 == 0 }, "the input exercises NaN and zero ties")
        }
    }
}
