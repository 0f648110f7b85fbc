import Foundation

/// The picture formats `Image` reads, recognised by their first bytes.
enum ImageFormat: String, CustomStringConvertible {
    /// Signature 89 50 4E 47 0D 0A 1A 0A.
    case png = "PNG"
    /// Start-of-image marker FF D8 followed by another marker (FF).
    case jpeg = "JPEG"

    /// The format `data` starts with, or nil when it is neither PNG nor JPEG.
    init?(signature data: Data) {
        let head = [UInt8](data.prefix(8))
        if head == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] {
            self = .png
        } else if head.count >= 3, head[0] == 0xFF, head[1] == 0xD8, head[2] == 0xFF {
            self = .jpeg
        } else {
            return nil
        }
    }

    var description: String { rawValue }

    /// Names what an unsupported file looks like, for the error message: another image format
    /// stb_image could decode but Fovea refuses, a damaged PNG signature, or unknown bytes.
    static func describeUnsupported(_ data: Data) -> String {
        let head = [UInt8](data.prefix(8))
        func starts(with text: String) -> Bool { head.starts(with: Array(text.utf8)) }
        if head.count < 8, [UInt8]([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]).starts(with: head) {
            return "\(head.count) bytes, too short for a PNG signature"
        }
        if head.count < 3, [UInt8]([0xFF, 0xD8, 0xFF]).starts(with: head) {
            return "\(head.count) bytes, too short for a JPEG marker"
        }
        if head.count >= 4, head[0] == 0x89, head[1] == 0x50, head[2] == 0x4E, head[3] == 0x47 {
            return "damaged PNG signature"
        }
        if starts(with: "BM") { return "a BMP image" }
        if starts(with: "GIF8") { return "a GIF image" }
        if starts(with: "8BPS") { return "a PSD image" }
        if starts(with: "#?RADIANCE") || starts(with: "#?RGBE") { return "an HDR image" }
        if head.count >= 2, head[0] == UInt8(ascii: "P"), (UInt8(ascii: "1")...UInt8(ascii: "7")).contains(head[1]) {
            return "a PNM (PBM/PGM/PPM) image"
        }
        return "unknown format, first bytes \(head.prefix(4).map { String(format: "%02X", $0) }.joined(separator: " "))"
    }
}
