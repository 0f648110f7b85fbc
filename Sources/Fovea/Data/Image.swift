import CStb
import Foundation

/// A decoded picture: `[C, H, W]` Float32, C = 1 (grey) or 3 (RGB), values in `[0, 255]` as
/// decoded; `scaledToUnit()` maps them to `[0, 1]`. PNG and JPEG are decoded by stb_image
/// (Debian's libstb); PNG is written by stb_image_write.
public struct Image: Sendable {
    public enum Channels: Int, Sendable { case grey = 1, rgb = 3 }

    /// `[C, H, W]`.
    public var pixels: Tensor
    public var channels: Int { pixels.shape[0] }
    public var height: Int { pixels.shape[1] }
    public var width: Int { pixels.shape[2] }

    /// - Throws: `.invalidArgument` unless `pixels` is `[1 or 3, H, W]`.
    public init(pixels: Tensor) throws {
        try ArgumentCheck("Image").require(pixels.shape.rank == 3 && (pixels.shape[0] == 1 || pixels.shape[0] == 3),
                                           "pixels", mustBe: "[1 or 3, H, W]", got: pixels.shape)
        self.init(checkedPixels: pixels)
    }

    /// Pixels already known to be `[1 or 3, H, W]` (decoded files, filtered images).
    init(checkedPixels pixels: Tensor) {
        self.pixels = pixels
    }

    /// Decodes a PNG or JPEG file, converting to `channels`; `nil` keeps the file's own kind (grey
    /// and grey+alpha → grey, RGB and RGBA → RGB; alpha is dropped).
    /// - Throws: `.io` when the file cannot be read, `.corruptFile` naming the file when it is not
    ///   a PNG or JPEG image stb_image can decode (with stb's reason, e.g. "bad png sig"), or when
    ///   its header promises more than `maximumPixelCount` pixels.
    public static func read(from url: URL, channels: Channels? = .rgb) throws -> Image {
        let data = try FileContents.read(url, what: "image")
        return try decode(data, source: url.path, channels: channels)
    }

    /// Largest picture decoded, in pixels (width × height): 2²⁶ ≈ 67 megapixels, an 8192 × 8192
    /// photo. A header that promises more is rejected before anything is allocated.
    public static let maximumPixelCount = 1 << 26

    /// Decodes PNG or JPEG bytes held in memory; `source` names the file in errors.
    ///
    /// The bytes must start with the PNG signature or a JPEG start-of-image marker; every other
    /// format stb_image knows (BMP, GIF, PSD, TGA, HDR, PIC, PNM) is refused before stb sees it,
    /// so only its PNG and JPEG decoders face untrusted input. A JPEG's marker segments are walked
    /// first (`JPEGStructure`) to refuse scans that use undefined Huffman tables, on which stb_image
    /// 2.27 reads out of bounds. The header's width × height is checked against `maximumPixels`
    /// before decoding.
    public static func decode(_ data: Data, source: String, channels: Channels? = .rgb,
                              maximumPixels: Int = maximumPixelCount) throws -> Image {
        func corrupt(_ detail: String) -> FoveaError { FoveaError(.corruptFile, "\(source): \(detail)") }
        guard !data.isEmpty else { throw corrupt("empty file — not a decodable PNG or JPEG image") }
        guard data.count < Int(Int32.max) else { throw corrupt("\(data.count) bytes is too large for the image decoder") }
        guard let format = ImageFormat(signature: data) else {
            throw corrupt("not a decodable PNG or JPEG image (\(ImageFormat.describeUnsupported(data)); only PNG and JPEG are read)")
        }
        if format == .jpeg, let problem = JPEGStructure.problem(in: [UInt8](data)) { throw corrupt(problem) }
        var width: Int32 = 0, height: Int32 = 0, original: Int32 = 0
        let headerRead = data.withUnsafeBytes { raw in
            stbi_info_from_memory(raw.bindMemory(to: UInt8.self).baseAddress, Int32(raw.count), &width, &height, &original)
        }
        guard headerRead != 0 else { throw corrupt("not a decodable \(format) image (\(failureReason()))") }
        guard width > 0, height > 0 else { throw corrupt("\(format) header gives a \(width)×\(height) image") }
        guard Int(width) * Int(height) <= maximumPixels else {
            throw corrupt("\(format) header gives a \(width)×\(height) image, more than the \(maximumPixels)-pixel limit")
        }
        let channels = channels ?? (original <= 2 ? .grey : .rgb)
        let decoded = data.withUnsafeBytes { raw in
            stbi_load_from_memory(raw.bindMemory(to: UInt8.self).baseAddress, Int32(raw.count), &width, &height, &original, Int32(channels.rawValue))
        }
        guard let decoded else { throw corrupt("not a decodable \(format) image (\(failureReason()))") }
        defer { stbi_image_free(decoded) }
        let (c, h, w) = (channels.rawValue, Int(height), Int(width))
        var pixels = Tensor(zeros: [c, h, w])
        pixels.withUnsafeMutableBufferPointer { out in
            for y in 0..<h {
                for x in 0..<w {
                    for channel in 0..<c { out[(channel * h + y) * w + x] = Float(decoded[(y * w + x) * c + channel]) }
                }
            }
        }
        return Image(checkedPixels: pixels)
    }

    /// stb_image's reason for the last failure on this thread.
    private static func failureReason() -> String {
        stbi_failure_reason().map { String(cString: $0) } ?? "unknown error"
    }

    /// The image with values divided by 255.
    public func scaledToUnit() -> Image {
        var copy = pixels
        copy.withUnsafeMutableBufferPointer { values in for i in values.indices { values[i] /= 255 } }
        return Image(checkedPixels: copy)
    }

    /// PNG bytes; values are rounded and clamped to `[0, 255]`.
    public func pngData() throws -> Data {
        let (c, h, w) = (channels, height, width)
        var interleaved = [UInt8](repeating: 0, count: c * h * w)
        pixels.withUnsafeBufferPointer { values in
            for y in 0..<h {
                for x in 0..<w {
                    for channel in 0..<c {
                        let value = values[(channel * h + y) * w + x]
                        interleaved[(y * w + x) * c + channel] = UInt8(value.isNaN ? 0 : min(max(value.rounded(), 0), 255))
                    }
                }
            }
        }
        let sink = PNGSink()
        let context = Unmanaged.passRetained(sink).toOpaque()
        defer { Unmanaged<PNGSink>.fromOpaque(context).release() }
        let ok = interleaved.withUnsafeBytes { raw in
            stbi_write_png_to_func({ context, bytes, size in
                guard let context, let bytes, size > 0 else { return }
                Unmanaged<PNGSink>.fromOpaque(context).takeUnretainedValue().data.append(bytes.assumingMemoryBound(to: UInt8.self), count: Int(size))
            }, context, Int32(w), Int32(h), Int32(c), raw.baseAddress, Int32(w * c))
        }
        guard ok != 0 else { throw FoveaError(.io, "PNG encoding of a \(c)×\(h)×\(w) image failed") }
        return sink.data
    }

    /// Writes a PNG atomically (the previous file is kept if writing fails).
    public func writePNG(to url: URL) throws {
        try AtomicFile.write(try pngData(), to: url)
    }
}

private final class PNGSink {
    var data = Data()
}
