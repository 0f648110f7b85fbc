import Foundation
import Fovea
import Testing

/// Over 1,000 malformed PNG files and over 1,000 malformed JPEG and other files, generated from
/// valid pictures and seed 10 on every run: each is rejected with a `.corruptFile` error naming
/// the file.
@Suite("Malformed image corpus")
struct MalformedImageTests {
    static func fixture(_ name: String) throws -> Data { try Data(contentsOf: DataFixtures.url(name)) }

    static func pngs() throws -> [Data] {
        try [fixture("rgb_4x3.png"), fixture("grey_5x2.png")]
            + ["grey_alpha.png", "rgba.png", "palette.png", "grey16.png"].map { try MalformedCorpus.seed("image", $0) }
    }

    static func jpegs() throws -> [Data] {
        try [fixture("photo_16x12.jpg")]
            + ["baseline.jpg", "progressive.jpg", "grey.jpg", "chroma420.jpg"].map { try MalformedCorpus.seed("image", $0) }
    }

    /// Byte offset of the first PNG chunk of `type` (its length field), or nil.
    static func chunk(_ type: String, in png: Data) -> (offset: Int, length: Int)? {
        var at = 8
        while at + 8 <= png.count {
            let length = png[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) }
            if String(decoding: png[(at + 4)..<(at + 8)], as: UTF8.self) == type { return (at, length) }
            at += 12 + length
        }
        return nil
    }

    /// The offset of the FF of the first JPEG segment with `marker` before the first scan's data, or nil.
    static func segmentStart(_ marker: UInt8, in jpeg: Data) -> Int? {
        var at = 2
        while at + 4 <= jpeg.count, jpeg[at] == 0xFF {
            if jpeg[at + 1] == marker { return at }
            at += 2 + segmentLength(at, in: jpeg)
        }
        return nil
    }

    /// The length field of the segment at `at` (it counts itself, not the marker).
    static func segmentLength(_ at: Int, in jpeg: Data) -> Int { Int(jpeg[at + 2]) << 8 | Int(jpeg[at + 3]) }

    static func pngCorpus() throws -> [(label: String, data: Data)] {
        var corpus: [(String, Data)] = []
        var generator = SeededGenerator(seed: 10)
        for png in try pngs() {
            // Every truncation that cuts into a chunk before IEND's CRC (stb never reads that CRC).
            for length in 0..<(png.count - 4) { corpus.append(("png-truncated", png.prefix(length))) }
            let header = try #require(chunk("IHDR", in: png)).offset + 8  // width, height, depth, colour, compression, filter, interlace
            func with(_ edits: [(Int, [UInt8])]) -> Data {
                var copy = png
                for (offset, bytes) in edits { copy.replaceSubrange((header + offset)..<(header + offset + bytes.count), with: bytes) }
                return copy
            }
            corpus.append(("png-zero-width", with([(0, [0, 0, 0, 0])])))
            corpus.append(("png-zero-height", with([(4, [0, 0, 0, 0])])))
            corpus.append(("png-over-stb-limit", with([(0, [0x01, 0, 0, 1])])))
            corpus.append(("png-over-pixel-limit", with([(0, [0, 0x01, 0x86, 0xA0]), (4, [0, 0x01, 0x86, 0xA0])])))  // 100,000²
            for depth in [0, 3, 5, 6, 7, 9, 12, 15, 17, 32, 255] { corpus.append(("png-depth", with([(8, [UInt8(depth)])]))) }
            for colour in [1, 5, 7, 8, 14, 255] { corpus.append(("png-colour", with([(9, [UInt8(colour)])]))) }
            corpus.append(("png-compression", with([(10, [1])])))
            corpus.append(("png-filter", with([(11, [1])])))
            corpus.append(("png-interlace", with([(12, [2])])))
            for index in 0..<8 {  // a damaged signature
                var copy = png
                copy[index] ^= UInt8(1 + generator.next() % 255)
                corpus.append(("png-signature", copy))
            }
            let idat = try #require(chunk("IDAT", in: png))
            var noData = png
            noData.removeSubrange(idat.offset..<(idat.offset + 12 + idat.length))
            corpus.append(("png-no-idat", noData))
            var noHeader = png
            noHeader.removeSubrange(8..<(8 + 25))
            corpus.append(("png-no-ihdr", noHeader))
        }
        return corpus
    }

    static func jpegAndOtherCorpus() throws -> [(label: String, data: Data)] {
        var corpus: [(String, Data)] = []
        var generator = SeededGenerator(seed: 11)
        for jpeg in try jpegs() {
            // Every truncation before the first scan's header is complete.
            let scan = try #require(segmentStart(0xDA, in: jpeg))
            for length in 0..<(scan + 2 + segmentLength(scan, in: jpeg)) { corpus.append(("jpeg-truncated", jpeg.prefix(length))) }
            // The frame header (SOF0 or SOF2) after its length: precision, height, width,
            // component count, then (id, sampling, quantisation table) per component.
            let frame = try #require(segmentStart(0xC0, in: jpeg) ?? segmentStart(0xC2, in: jpeg))
            func with(_ offset: Int, _ bytes: [UInt8]) -> Data {
                var copy = jpeg
                copy.replaceSubrange((frame + 4 + offset)..<(frame + 4 + offset + bytes.count), with: bytes)
                return copy
            }
            corpus.append(("jpeg-zero-width", with(3, [0, 0])))
            corpus.append(("jpeg-zero-height", with(1, [0, 0])))
            corpus.append(("jpeg-over-pixel-limit", with(1, [0xFF, 0xFF, 0xFF, 0xFF])))
            for precision in [0, 7, 12, 16, 255] { corpus.append(("jpeg-precision", with(0, [UInt8(precision)]))) }
            for count in [0, 2, 5, 255] { corpus.append(("jpeg-components", with(5, [UInt8(count)]))) }
            for sampling in [0x00, 0x50, 0x05, 0xFF] { corpus.append(("jpeg-sampling", with(7, [UInt8(sampling)]))) }
            corpus.append(("jpeg-quant-table", with(8, [9])))
            for marker in [0xC3, 0xC5, 0xC9, 0xCB, 0xCF] {  // frame types stb does not decode
                var copy = jpeg
                copy[frame + 1] = UInt8(marker)
                corpus.append(("jpeg-frame-type", copy))
            }
            // No Huffman tables before the first scan, which then uses undefined ones.
            var withoutTables = jpeg
            while let table = segmentStart(0xC4, in: withoutTables) {
                withoutTables.removeSubrange(table..<(table + 2 + segmentLength(table, in: withoutTables)))
            }
            corpus.append(("jpeg-no-huffman-tables", withoutTables))
            for _ in 0..<20 {  // a damaged start-of-image marker
                var copy = jpeg
                copy[Int(generator.next() % 3)] ^= UInt8(1 + generator.next() % 255)
                corpus.append(("jpeg-signature", copy))
            }
        }
        // Other formats stb_image could decode, which Image refuses, and bytes that are no image.
        let pixels = (0..<48).map { UInt8($0 * 5) }
        var bmp = Data("BM".utf8) + Data(repeating: 0, count: 52)
        bmp[10] = 54; bmp[14] = 40; bmp[18] = 4; bmp[22] = 4; bmp[26] = 1; bmp[28] = 24
        let others: [(String, Data)] = [
            ("bmp", bmp + Data(pixels)),
            ("gif", Data("GIF89a".utf8) + Data([4, 0, 4, 0, 0, 0, 0]) + Data(pixels)),
            ("ppm", Data("P6\n4 4\n255\n".utf8) + Data(pixels)),
            ("pgm", Data("P5\n4 4\n255\n".utf8) + Data(pixels.prefix(16))),
            ("psd", Data("8BPS".utf8) + Data(pixels)),
            ("hdr", Data("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 4 +X 4\n".utf8) + Data(pixels)),
            ("tga", Data([0, 0, 2] + Array(repeating: 0, count: 9) + [4, 0, 4, 0, 24, 0]) + Data(pixels)),
            ("text", Data("this is not a picture".utf8)),
            ("json", Data(#"{"width": 4, "height": 4}"#.utf8)),
            ("empty", Data()),
        ]
        for (label, data) in others {
            for length in stride(from: data.count, through: max(0, data.count - 20), by: -1) { corpus.append((label, data.prefix(length))) }
        }
        for _ in 0..<200 {  // random bytes that do not start like a PNG or JPEG
            var bytes = (0..<Int(1 + generator.next() % 200)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            if bytes[0] == 0x89 || bytes[0] == 0xFF { bytes[0] = 0 }
            corpus.append(("random", Data(bytes)))
        }
        return corpus
    }

    @Test func pngCorpusIsRejected() throws {
        let corpus = try Self.pngCorpus()
        #expect(corpus.count >= 1000)
        for channels in [Image.Channels.rgb, .grey, nil] {
            let rejected = MalformedCorpus.expectAllRejected(corpus, fileExtension: "png") { _ = try Image.decode($0, source: $1, channels: channels) }
            #expect(rejected == corpus.count)
        }
    }

    @Test func jpegAndOtherCorpusIsRejected() throws {
        let corpus = try Self.jpegAndOtherCorpus()
        #expect(corpus.count >= 1000)
        let rejected = MalformedCorpus.expectAllRejected(corpus, fileExtension: "jpg") { _ = try Image.decode($0, source: $1) }
        #expect(rejected == corpus.count)
    }

    /// The undamaged pictures all decode, so the corpus damages files the reader accepts.
    @Test func undamagedPicturesDecode() throws {
        for data in try Self.pngs() + Self.jpegs() {
            let image = try Image.decode(data, source: "valid")
            #expect(image.channels == 3 && image.height > 0 && image.width > 0)
        }
    }

    /// Found by Scripts/fuzz.sh: a progressive JPEG whose AC scan names Huffman table 1 before any
    /// DHT segment defines it. stb_image 2.27 then decodes with an uninitialised table and reads
    /// out of bounds (a SEGV under AddressSanitizer); Image now refuses the file before stb sees it.
    @Test func fuzzFindingUndefinedHuffmanTable() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/fuzz/jpeg-progressive-bad-huffman.jpg")
        do {
            _ = try Image.read(from: url)
            Issue.record("accepted")
        } catch let error as FoveaError {
            #expect(error.kind == .corruptFile)
            #expect(error.message == "\(url.path): a JPEG scan uses AC Huffman table 1 before any DHT segment defines it")
        }
    }

    @Test func specificErrors() throws {
        let png = try Self.fixture("rgb_4x3.png")
        var huge = png
        huge.replaceSubrange(16..<24, with: [0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10])  // 10,000 × 10,000
        let cases: [(Data, String)] = [
            (huge, "PNG header gives a 10000×10000 image, more than the 67108864-pixel limit"),
            (Data("BM".utf8) + Data(repeating: 0, count: 60), "not a decodable PNG or JPEG image (a BMP image; only PNG and JPEG are read)"),
            (Data("GIF89a".utf8), "(a GIF image; only PNG and JPEG are read)"),
            (Data("P6\n1 1\n255\n...".utf8), "a PNM (PBM/PGM/PPM) image"),
            (png.prefix(5), "5 bytes, too short for a PNG signature"),
            (Data(), "empty file"),
        ]
        for (data, expected) in cases {
            do {
                _ = try Image.decode(data, source: "case.img")
                Issue.record("accepted; expected \(expected)")
            } catch let error as FoveaError {
                #expect(error.message.hasPrefix("case.img: ") && error.message.contains(expected), "\(error.message)")
            }
        }
        // The limit is a parameter: the 4×3 fixture is refused under an 11-pixel limit.
        #expect(throws: FoveaError.self) { try Image.decode(png, source: "small", maximumPixels: 11) }
        #expect(try Image.decode(png, source: "small", maximumPixels: 12).width == 4)
    }
}
