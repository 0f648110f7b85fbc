import Foundation
import Fovea
import Testing

/// Checks that a reader rejects every file of a generated malformed corpus with a `.corruptFile`
/// `FoveaError` whose message starts with the file's name and says what is wrong.
enum MalformedCorpus {
    /// The committed fuzz seeds (`Scripts/make_fuzz_seeds.py`), reused as valid starting points.
    static func seed(_ format: String, _ name: String) throws -> Data {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        return try Data(contentsOf: folder.appendingPathComponent("Fuzz/Seeds/\(format)/\(name)"))
    }

    /// Runs `decode` on each case (named "<label>-<index>.<ext>") and records an issue for every
    /// case that is accepted, throws something else, or throws an error not naming it. Returns
    /// the number of cases rejected properly.
    @discardableResult
    static func expectAllRejected(_ cases: [(label: String, data: Data)], fileExtension: String,
                                  decode: (Data, String) throws -> Void,
                                  sourceLocation: SourceLocation = #_sourceLocation) -> Int {
        var rejected = 0
        for (index, item) in cases.enumerated() {
            let source = "\(item.label)-\(index).\(fileExtension)"
            do {
                try decode(item.data, source)
                Issue.record("\(source) (\(item.data.count) bytes) was accepted", sourceLocation: sourceLocation)
            } catch let error as FoveaError {
                let named = error.message.hasPrefix("\(source): ") && error.message.count > source.count + 8
                if error.kind == .corruptFile && named {
                    rejected += 1
                } else {
                    Issue.record("\(source): \(error.kind): \(error.message)", sourceLocation: sourceLocation)
                }
            } catch {
                Issue.record("\(source): not a FoveaError: \(error)", sourceLocation: sourceLocation)
            }
        }
        return rejected
    }
}

/// Minimal gzip writer for tests: deflate "stored" blocks (no compression) in one gzip member,
/// with the CRC-32 and length trailer (RFC 1951 §3.2.4, RFC 1952).
enum StoredGzip {
    static func compress(_ bytes: [UInt8]) -> Data {
        var out: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF]
        var offset = 0
        repeat {
            let length = min(65_535, bytes.count - offset)
            let last: UInt8 = offset + length == bytes.count ? 1 : 0
            out += [last, UInt8(length & 255), UInt8(length >> 8), UInt8(~length & 255), UInt8((~length >> 8) & 255)]
            out += bytes[offset..<(offset + length)]
            offset += length
        } while offset < bytes.count
        out += littleEndian(crc32(bytes)) + littleEndian(UInt32(truncatingIfNeeded: bytes.count))
        return Data(out)
    }

    private static func littleEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    /// CRC-32 (IEEE, reflected, polynomial 0xEDB88320), bit by bit.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
