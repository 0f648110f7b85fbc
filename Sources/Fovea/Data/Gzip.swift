import CZlib
import Foundation

/// gzip decompression through zlib.
enum Gzip {
    /// True when `data` starts with the gzip magic bytes 1f 8b.
    static func isCompressed(_ data: Data) -> Bool {
        data.count >= 2 && data[data.startIndex] == 0x1F && data[data.startIndex + 1] == 0x8B
    }

    /// Inflates a whole gzip stream (concatenated members included).
    /// - Throws: `.corruptFile` naming `source` when the stream is truncated or damaged, is followed
    ///   by bytes that are not another gzip member, or would inflate beyond `limit` bytes.
    static func decompress(_ data: Data, source: String, limit: Int = 4 << 30) throws -> Data {
        var stream = z_stream()
        guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw FoveaError(.io, "\(source): zlib could not start inflating")
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        var status: Int32 = Z_OK
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            var consumed = 0
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(input.count)
            repeat {
                try buffer.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(chunk)
                    status = inflate(&stream, Z_NO_FLUSH)
                    guard status == Z_OK || status == Z_STREAM_END else {
                        let reason = status == Z_BUF_ERROR ? "the data ends before the gzip stream does (truncated)" : "damaged gzip data (zlib error \(status))"
                        throw FoveaError(.corruptFile, "\(source): \(reason)")
                    }
                    output.append(out.baseAddress!, count: chunk - Int(stream.avail_out))
                }
                guard output.count <= limit else {
                    throw FoveaError(.corruptFile, "\(source): inflates to more than \(limit) bytes")
                }
                if status == Z_STREAM_END {
                    // Another gzip member may follow.
                    consumed = input.count - Int(stream.avail_in)
                    if stream.avail_in > 0 && input[consumed] == 0x1F {
                        guard inflateReset(&stream) == Z_OK else { throw FoveaError(.corruptFile, "\(source): damaged gzip member") }
                        status = Z_OK
                    } else if stream.avail_in > 0 {
                        throw FoveaError(.corruptFile, "\(source): \(stream.avail_in) bytes of trailing garbage after the gzip stream")
                    }
                } else if stream.avail_in == 0 && stream.avail_out != 0 {
                    throw FoveaError(.corruptFile, "\(source): the data ends before the gzip stream does (truncated)")
                }
            } while status != Z_STREAM_END
        }
        return output
    }
}
