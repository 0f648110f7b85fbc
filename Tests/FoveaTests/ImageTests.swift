import Foundation
import Fovea
import Testing

@Suite("Images")
struct ImageTests {
    @Test func pngDecodesToKnownPixels() throws {
        let reference = try DataFixtures.load()
        let rgb = try Image.read(from: DataFixtures.url("rgb_4x3.png"), channels: .rgb)
        #expect(rgb.pixels.shape == [3, 3, 4])
        let r = reference.rgb_4x3
        for y in 0..<r.height {
            for x in 0..<r.width {
                for c in 0..<3 { #expect(rgb.pixels[c, y, x] == Float(r.hwc[(y * r.width + x) * 3 + c])) }
            }
        }
        let grey = try Image.read(from: DataFixtures.url("grey_5x2.png"), channels: .grey)
        #expect(grey.pixels.scalars == reference.grey_5x2.hw.map(Float.init))
        #expect(grey.scaledToUnit().pixels.scalars == reference.grey_5x2.hw.map { Float($0) / 255 })
    }

    /// JPEG decoders may differ by a level or two (IDCT, chroma upsampling): stb_image against Pillow.
    @Test func jpegDecodesCloseToPillow() throws {
        let reference = try DataFixtures.load().photo_16x12
        let photo = try Image.read(from: DataFixtures.url("photo_16x12.jpg"))
        #expect(photo.pixels.shape == [3, 12, 16])
        var worst = 0
        for y in 0..<12 { for x in 0..<16 { for c in 0..<3 {
            worst = max(worst, abs(Int(photo.pixels[c, y, x]) - reference.hwc_decoded_by_pillow[(y * 16 + x) * 3 + c]))
        } } }
        #expect(worst <= 4, "largest difference from Pillow: \(worst) grey levels")
    }

    @Test func pngWriteReadRoundTrip() throws {
        let folder = try DataFixtures.temporaryFolder("png")
        let pixels = Tensor(shape: [3, 2, 3], scalars: (0..<18).map { Float($0 * 14) })
        let url = folder.appendingPathComponent("out.png")
        try Image(pixels: pixels).writePNG(to: url)
        #expect(try Image.read(from: url).pixels.scalars == pixels.scalars)
        let grey = Tensor(shape: [1, 2, 2], scalars: [-5, 0.4, 254.6, 300])
        try Image(pixels: grey).writePNG(to: url)
        #expect(try Image.read(from: url, channels: .grey).pixels.scalars == [0, 0, 255, 255])
        try? FileManager.default.removeItem(at: folder)
    }

    @Test func notAnImageIsANamedError() throws {
        let folder = try DataFixtures.temporaryFolder("bad")
        let text = folder.appendingPathComponent("notes.png")
        try Data("this is not a picture".utf8).write(to: text)
        #expect(throws: FoveaError.self) { try Image.read(from: text) }
        do { _ = try Image.read(from: text) } catch let error as FoveaError {
            #expect(error.kind == .corruptFile && error.message.contains("notes.png"), "\(error.message)")
        }
        let png = try Data(contentsOf: DataFixtures.url("rgb_4x3.png"))
        let truncated = folder.appendingPathComponent("cut.png")
        try png.prefix(40).write(to: truncated)
        do {
            _ = try Image.read(from: truncated)
            Issue.record("a truncated PNG decoded")
        } catch let error as FoveaError { #expect(error.message.contains("cut.png")) }
        #expect(throws: FoveaError.self) { try Image.read(from: folder.appendingPathComponent("missing.png")) }
        try? FileManager.default.removeItem(at: folder)
    }

    @Test func transformsResizeCropNormalizeFlip() {
        let image = Tensor(shape: [1, 2, 4], scalars: [0, 1, 2, 3, 4, 5, 6, 7])
        #expect(ImageTransforms.horizontalFlip(image).scalars == [3, 2, 1, 0, 7, 6, 5, 4])
        #expect(ImageTransforms.centerCrop(image, height: 2, width: 2).scalars == [1, 2, 5, 6])
        #expect(ImageTransforms.crop(image, top: -1, left: 3, height: 2, width: 2).scalars == [0, 0, 3, 0])
        #expect(ImageTransforms.normalize(image, mean: [1], standardDeviation: [2]).scalars == [-0.5, 0, 0.5, 1, 1.5, 2, 2.5, 3])
        // Bilinear, align-corners false: halving averages 2×2 blocks.
        #expect(ImageTransforms.resize(image, height: 1, width: 2).scalars == [2.5, 4.5])
        // Identity size leaves the image unchanged.
        #expect(ImageTransforms.resize(image, height: 2, width: 4).scalars == image.scalars)
        #expect(ImageTransforms.resizeShorterSide(image, to: 4).shape == [1, 4, 8])
    }

    @Test func imageFolderSkipsOrFailsOnBadFiles() throws {
        let root = try DataFixtures.temporaryFolder("folder")
        for name in ["cats", "dogs"] { try FileManager.default.createDirectory(at: root.appendingPathComponent(name), withIntermediateDirectories: true) }
        try FileManager.default.copyItem(at: DataFixtures.url("rgb_4x3.png"), to: root.appendingPathComponent("cats/a.png"))
        try FileManager.default.copyItem(at: DataFixtures.url("photo_16x12.jpg"), to: root.appendingPathComponent("dogs/b.jpg"))
        try Data("junk".utf8).write(to: root.appendingPathComponent("dogs/broken.png"))
        do {
            _ = try ImageFolderDataset(root: root, crop: 4)
            Issue.record("expected the broken file to fail")
        } catch let error as FoveaError {
            #expect(error.message.contains("broken.png"))
        }
        let data = try ImageFolderDataset(root: root, resize: 4, crop: 4, mean: [0.5, 0.5, 0.5], standardDeviation: [0.5, 0.5, 0.5], badFiles: .skip)
        #expect(data.classNames == ["cats", "dogs"])
        #expect(data.count == 2 && data.skipped.count == 1 && data.skipped[0].url.lastPathComponent == "broken.png")
        let (image, label) = try data.example(at: 1)
        #expect(image.shape == [3, 4, 4] && label == 1)
        #expect(image.scalars.allSatisfy { $0 >= -1 && $0 <= 1 })
        try? FileManager.default.removeItem(at: root)
    }
}
