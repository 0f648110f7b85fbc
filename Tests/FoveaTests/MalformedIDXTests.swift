import Foundation
import Fovea
import Testing

/// Over 1,000 malformed plain IDX files and over 1,000 gzip ones, generated from seeds 8 and 9 on
/// every run: each is rejected with a `.corruptFile` error naming the file and what is wrong.
@Suite("Malformed IDX corpus")
struct MalformedIDXTests {
    /// Valid files to damage: labels (rank 1), images (rank 3), a rank-4 file.
    static let valid: [Data] = [
        IDXTests.idx([10], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]),
        IDXTests.idx([3, 4, 4], (0..<48).map { UInt8($0 * 5) }),
        IDXTests.idx([1, 2, 3, 4], (0..<24).map(UInt8.init)),
        IDXTests.idx([5, 7, 9], (0..<315).map { UInt8($0 % 256) }),
    ]

    static func plainCorpus() -> [(label: String, data: Data)] {
        var corpus: [(String, Data)] = []
        var generator = SeededGenerator(seed: 8)
        for file in valid {
            for length in 0..<file.count { corpus.append(("truncated", file.prefix(length))) }
            for extra in 1...20 { corpus.append(("trailing", file + Data((0..<extra).map { UInt8($0 * 37 & 255) }))) }
        }
        for type in 0...255 where type != 8 {  // every unsupported element type
            corpus.append(("type", IDXTests.idx([2], [1, 2], magic: [0, 0, UInt8(type)])))
        }
        for _ in 0..<100 {  // a non-zero first or second magic byte
            var file = valid[Int(generator.next() % UInt64(valid.count))]
            file[Int(generator.next() % 2)] = UInt8(1 + generator.next() % 255)
            corpus.append(("magic", file))
        }
        corpus.append(("rank0", Data([0, 0, 8, 0])))
        for _ in 0..<300 {  // dimensions that overflow, exceed 2³⁶ elements, or disagree with the data
            let rank = 1 + Int(generator.next() % 6)
            let dimensions = (0..<rank).map { _ in Int(generator.next() % 3 == 0 ? generator.next() % 5 : generator.next() & 0xFFFF_FFFF) }
            var file = IDXTests.idx(dimensions, Array(repeating: 7, count: Int(generator.next() % 64)))
            let (elements, overflow) = dimensions.reduce((1, false)) { partial, d in
                let product = partial.0.multipliedReportingOverflow(by: d)
                return (product.partialValue, partial.1 || product.overflow)
            }
            if !overflow && elements == file.count - 4 - 4 * rank { file.append(1) }  // never exactly right
            corpus.append(("dimensions", file))
        }
        return corpus
    }

    static func gzipCorpus() throws -> [(label: String, data: Data)] {
        var corpus: [(String, Data)] = []
        var generator = SeededGenerator(seed: 9)
        // Python's gzip (real deflate) and the stored-block writer above.
        let compressed = [try MalformedCorpus.seed("idx", "images.idx3.gz"), try MalformedCorpus.seed("idx", "labels.idx1.gz")]
            + valid.map { StoredGzip.compress([UInt8]($0)) }
        for file in compressed {
            for length in 3..<file.count { corpus.append(("gz-truncated", file.prefix(length))) }
            for _ in 0..<80 {  // damage after the header and the first deflate byte (whose unused bits a stored block ignores): zlib's CRC-32 check catches any change
                var damaged = file
                let at = 11 + Int(generator.next() % UInt64(file.count - 11))
                damaged[at] ^= UInt8(1 + generator.next() % 255)
                corpus.append(("gz-damaged", damaged))
            }
            corpus.append(("gz-method", { var d = file; d[2] = 7; return d }()))
            corpus.append(("gz-trailing", file + Data("garbage".utf8)))
        }
        for file in plainCorpus().filter({ $0.label != "truncated" }).prefix(100) {  // valid gzip around a bad IDX
            corpus.append(("gz-" + file.label, StoredGzip.compress([UInt8](file.data))))
        }
        return corpus
    }

    @Test func storedGzipWriterRoundTrips() throws {
        #expect(StoredGzip.crc32(Array("123456789".utf8)) == 0xCBF4_3926)  // the standard check value
        let file = try IDXFile.decode(StoredGzip.compress([UInt8](Self.valid[1])), source: "ok.gz")
        #expect(file.dimensions == [3, 4, 4] && file.bytes == (0..<48).map { UInt8($0 * 5) })
    }

    @Test func plainCorpusIsRejected() {
        let corpus = Self.plainCorpus()
        #expect(corpus.count >= 1000)
        let rejected = MalformedCorpus.expectAllRejected(corpus, fileExtension: "idx") { _ = try IDXFile.decode($0, source: $1) }
        #expect(rejected == corpus.count)
    }

    @Test func gzipCorpusIsRejected() throws {
        let corpus = try Self.gzipCorpus()
        #expect(corpus.count >= 1000)
        let rejected = MalformedCorpus.expectAllRejected(corpus, fileExtension: "idx.gz") { _ = try IDXFile.decode($0, source: $1) }
        #expect(rejected == corpus.count)
    }

    /// Regressions from reading the parser for the fuzzing work: each has its own message.
    @Test func specificErrors() {
        let cases: [(Data, String)] = [
            (StoredGzip.compress([UInt8](Self.valid[0])) + Data([0, 1, 2]), "3 bytes of trailing garbage after the gzip stream"),
            (IDXTests.idx([0, 0xFFFF_FFFF, 0xFFFF_FFFF], []), "multiply to more than 2³⁶ elements"),
            (IDXTests.idx([0x1_0000, 0x1_0000, 0x100], []), "multiply to more than 2³⁶ elements"),
        ]
        for (data, expected) in cases {
            do {
                _ = try IDXFile.decode(data, source: "case.idx")
                Issue.record("accepted; expected \(expected)")
            } catch let error as FoveaError {
                #expect(error.message.hasPrefix("case.idx: ") && error.message.contains(expected), "\(error.message)")
            } catch { Issue.record("\(error)") }
        }
        // Two gzip members are still one file.
        let labels = [UInt8](Self.valid[0])
        let twoMembers = StoredGzip.compress(Array(labels[..<9])) + StoredGzip.compress(Array(labels[9...]))
        #expect((try? IDXFile.decode(twoMembers, source: "two.gz"))?.bytes == Array(labels[8...]))
    }
}
