import Foundation
import Fovea

/// `Fixtures/vision/` (written by `Scripts/make_vision_fixtures.py`) and the skimage photos it used.
enum VisionFixtures {
    struct Document: Decodable {
        struct Photo: Decodable { var file: String; var top: Int; var left: Int; var size: Int; var channels: Int; var crop_fnv1a64: String }
        struct Pooling: Decodable { var kind: String; var size: Int }
        struct Output: Decodable { var file: String; var height: Int; var width: Int; var min: Double; var max: Double }
        struct Case: Decodable {
            var name: String
            var kernel: String
            var stride: Int
            var dilation: Int
            var pooling: Pooling?
            var mapping: String
            var outputs: [String: Output]
        }
        var format_version: Int
        var photos: [String: Photo]
        var kernels: [String: [[Double]]]
        var cases: [Case]
    }

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/vision")

    /// Debian's python3-skimage photos (FOVEA_SKIMAGE_DATA overrides the folder).
    static let photoFolder = URL(fileURLWithPath: ProcessInfo.processInfo.environment["FOVEA_SKIMAGE_DATA"]
        ?? "/usr/lib/python3/dist-packages/skimage/data")

    static func load() throws -> Document {
        let document = try JSONDecoder().decode(Document.self, from: Data(contentsOf: folder.appendingPathComponent("vision.json")))
        guard document.format_version == 1 else {
            throw FoveaError(.corruptFile, "vision.json: format version \(document.format_version), expected 1; re-run Scripts/make_vision_fixtures.py")
        }
        return document
    }

    /// The photo's crop `[C, size, size]` the script filtered, checked against its checksum.
    static func crop(_ photo: Document.Photo) throws -> Tensor {
        let url = photoFolder.appendingPathComponent(photo.file)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw FoveaError(.io, "\(url.path) is missing: install python3-skimage (Scripts/install-deps.sh) or set FOVEA_SKIMAGE_DATA")
        }
        let image = try Image.read(from: url, channels: photo.channels == 1 ? .grey : .rgb)
        let crop = ImageTransforms.crop(image.pixels, top: photo.top, left: photo.left, height: photo.size, width: photo.size)
        let checksum = fnv1a64(interleavedBytes(crop))
        guard String(checksum) == photo.crop_fnv1a64 else {
            throw FoveaError(.corruptFile, "\(url.path): the crop's checksum \(checksum) differs from the fixture's \(photo.crop_fnv1a64) — a different photo; re-run Scripts/make_vision_fixtures.py")
        }
        return crop
    }

    /// `[C, H, W]` as bytes in H, W, C order (as NumPy holds a picture).
    static func interleavedBytes(_ pixels: Tensor) -> [UInt8] {
        let (c, h, w) = (pixels.shape[0], pixels.shape[1], pixels.shape[2])
        var bytes: [UInt8] = []
        for y in 0..<h { for x in 0..<w { for channel in 0..<c { bytes.append(UInt8(pixels[channel, y, x])) } } }
        return bytes
    }

    static func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }
}
