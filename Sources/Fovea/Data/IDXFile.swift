import Foundation

/// An IDX file (the MNIST format), plain or gzip-compressed:
///
///     magic: 0x00 0x00 <type> <rank>      type 0x08 = unsigned byte (the only type MNIST uses)
///     rank × UInt32 big-endian dimensions
///     the elements, row-major
///
/// Reading checks the magic, the type, and that the file holds exactly the elements its
/// dimensions promise; any problem throws `.corruptFile` naming the file.
public struct IDXFile: Sendable {
    public var dimensions: [Int]
    /// The elements, row-major (unsigned bytes).
    public var bytes: [UInt8]

    public static func read(from url: URL) throws -> IDXFile {
        let raw = try FileContents.read(url, what: "IDX file")
        return try decode(raw, source: url.path)
    }

    public static func decode(_ raw: Data, source: String) throws -> IDXFile {
        let data = Gzip.isCompressed(raw) ? try Gzip.decompress(raw, source: source) : raw
        func corrupt(_ detail: String) -> FoveaError { FoveaError(.corruptFile, "\(source): \(detail)") }
        let bytes = [UInt8](data)
        guard bytes.count >= 4 else { throw corrupt("\(bytes.count) bytes is too short for an IDX header") }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw corrupt(String(format: "wrong magic number 0x%02X%02X%02X%02X: not an IDX file", bytes[0], bytes[1], bytes[2], bytes[3]))
        }
        guard bytes[2] == 0x08 else {
            throw corrupt(String(format: "element type 0x%02X is not supported (only 0x08, unsigned byte)", bytes[2]))
        }
        let rank = Int(bytes[3])
        guard rank >= 1 else { throw corrupt("rank 0: an IDX file needs at least one dimension") }
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else { throw corrupt("truncated header: \(rank) dimensions need \(headerSize) bytes, the file has \(bytes.count)") }
        var dimensions: [Int] = []
        // The product of the non-zero dimensions is bounded too, so even an empty file's shape
        // (say [0, 2³², 2³²]) is safe to compute strides from.
        var extent = 1
        for axis in 0..<rank {
            let at = 4 + 4 * axis
            let dimension = Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            dimensions.append(dimension)
            let (product, overflow) = extent.multipliedReportingOverflow(by: max(dimension, 1))
            guard !overflow, product <= Int(UInt32.max) * 16 else { throw corrupt("dimensions \(dimensions)… multiply to more than 2³⁶ elements") }
            extent = product
        }
        let count = dimensions.contains(0) ? 0 : extent
        let available = bytes.count - headerSize
        guard available == count else {
            throw corrupt(available < count
                ? "truncated: dimensions \(dimensions) need \(count) bytes of data, the file has \(available)"
                : "\(available - count) bytes of data beyond the \(count) that dimensions \(dimensions) describe")
        }
        return IDXFile(dimensions: dimensions, bytes: Array(bytes[headerSize...]))
    }
}
