import Foundation
import Fovea
import FoveaTestSupport
import Testing

/// Every classic kernel (and stride, dilation, pooling and mapping variants) on crops of real
/// photos, against SciPy's `ndimage.correlate` (Scripts/make_vision_fixtures.py), on every device.
@Suite("Filters against SciPy")
struct FilterSciPyTests {
    @Test(arguments: TestDevices.all)
    func classicKernelsMatchSciPy(_ labeled: LabeledDevice) throws {
        let document = try VisionFixtures.load()
        var crops: [String: Tensor] = [:]
        for (name, photo) in document.photos { crops[name] = try VisionFixtures.crop(photo) }
        var report: [String] = []
        #expect(document.cases.count >= 17)
        for fixture in document.cases {
            let kernel = try ImageKernel.named(fixture.kernel)
            let matrix = try #require(document.kernels[fixture.kernel])
            #expect(matrix.count == kernel.rows && matrix.allSatisfy { $0.count == kernel.columns }, "\(fixture.kernel): shape")
            for r in 0..<kernel.rows { for c in 0..<kernel.columns {
                #expect(abs(Double(kernel[r, c]) - matrix[r][c]) < 1e-6, "\(fixture.kernel)[\(r), \(c)]: \(kernel[r, c]) vs \(matrix[r][c])")
            } }
            let pooling = try fixture.pooling.map { pool in
                FilterPooling(try #require(FilterPooling.Kind(rawValue: pool.kind)), size: pool.size)
            }
            let filter = ImageFilter(kernel: kernel, stride: Size2D(fixture.stride), padding: .same,
                                     dilation: Size2D(fixture.dilation), pooling: pooling)
            let mapping = try #require(PixelMapping(rawValue: fixture.mapping))
            if fixture.name == fixture.kernel { #expect(PixelMapping.automatic(for: kernel) == mapping, "\(fixture.name): automatic mapping") }
            var worst = 0
            for (photo, output) in fixture.outputs.sorted(by: { $0.key < $1.key }) {
                let input = try #require(crops[photo])
                let result = try filter.apply(to: input, device: labeled.device, name: "\(photo) \(fixture.name)")
                let expected = try Image.read(from: VisionFixtures.folder.appendingPathComponent(output.file), channels: input.shape[0] == 1 ? .grey : .rgb)
                let actual = result.image(mapping: mapping).pixels
                guard actual.shape == expected.pixels.shape else {
                    Issue.record("\(photo) \(fixture.name): shape \(actual.shape), SciPy \(expected.pixels.shape)")
                    continue
                }
                #expect(abs(Double(result.values.scalars.min()!) - output.min) < 1e-3 * max(1, abs(output.min)), "\(photo) \(fixture.name): min")
                #expect(abs(Double(result.values.scalars.max()!) - output.max) < 1e-3 * max(1, abs(output.max)), "\(photo) \(fixture.name): max")
                let difference = zip(actual.scalars, expected.pixels.scalars).map { Int(abs($0.rounded() - $1)) }.max() ?? 0
                #expect(difference <= 1, "\(photo) \(fixture.name) on \(labeled.label): \(difference) grey levels from SciPy")
                worst = max(worst, difference)
            }
            report.append("\(fixture.name) \(worst)")
        }
        print("\(labeled.label): largest difference from SciPy in grey levels: \(report.joined(separator: ", "))")
    }
}
