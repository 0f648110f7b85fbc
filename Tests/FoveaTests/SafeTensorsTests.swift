import Foundation
import Fovea
import FoveaTestSupport
import Testing

@Suite("safetensors")
struct SafeTensorsTests {
    /// Every dtype of a file written by the Python `safetensors` library converts to the values
    /// NumPy held (Scripts/make_data_fixtures.py).
    @Test func everyDTypeDecodes() throws {
        let reference = try DataFixtures.load().dtypes
        let file = try SafeTensors.read(from: DataFixtures.url("dtypes.safetensors"))
        #expect(file.metadata["made_by"] == "make_data_fixtures.py")
        #expect(Set(file.tensors.map(\.name)) == Set(reference.keys))
        for (name, expected) in reference {
            let tensor = try #require(file[name])
            #expect(tensor.shape == Shape(expected.shape), "\(name)")
            // F16 holds 1e-3 only to about 3 significant digits; every other value is exact in Float32.
            for (actual, value) in zip(tensor.scalars, expected.values) {
                #expect(abs(Double(actual) - Float(value).double) <= (name == "f16" ? 1e-6 + 1e-3 * abs(value) : 0), "\(name): \(actual) vs \(value)")
            }
        }
    }

    @Test func roundTripKeepsNamesShapesValuesAndMetadata() throws {
        let folder = try DataFixtures.temporaryFolder("st")
        let url = folder.appendingPathComponent("w.safetensors")
        let tensors: [(name: String, tensor: Tensor)] = [
            ("conv1.weight", Tensor.randomNormal([4, 3, 3, 3], seed: 1)),
            ("bn1.num_batches_tracked", Tensor(repeating: 7, shape: [])),
            ("fc.bias", Tensor.randomNormal([10], seed: 2)),
            ("empty", Tensor(zeros: [0, 3])),
        ]
        try SafeTensors(tensors: tensors, metadata: ["epoch": "3"]).write(to: url, integerTensors: ["bn1.num_batches_tracked"])
        let back = try SafeTensors.read(from: url)
        #expect(back.metadata == ["epoch": "3"])
        for (name, tensor) in tensors {
            let loaded = try #require(back[name])
            expectIdentical(loaded, tensor, name)
        }
        // The integer tensor is stored as I64, the others as F32.
        let raw = try Data(contentsOf: url)
        let headerLength = Int(raw.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        let header = String(decoding: raw[8..<(8 + headerLength)], as: UTF8.self)
        #expect(header.contains("\"bn1.num_batches_tracked\":{\"data_offsets\"") && header.contains("\"I64\""))
        #expect((8 + headerLength) % 8 == 0)
        try? FileManager.default.removeItem(at: folder)
    }

    @Test func failedWriteLeavesThePreviousFile() throws {
        let folder = try DataFixtures.temporaryFolder("atomic")
        let url = folder.appendingPathComponent("w.safetensors")
        try SafeTensors(tensors: [("a", Tensor(repeating: 1, shape: [2]))]).write(to: url)
        #expect(throws: FoveaError.self) {
            try SafeTensors(tensors: [("a", Tensor(zeros: [1])), ("a", Tensor(zeros: [1]))]).write(to: url)
        }
        #expect(try SafeTensors.read(from: url)["a"]?.scalars == [1, 1])
        #expect(throws: FoveaError.self) {
            try SafeTensors(tensors: [("b", Tensor(zeros: [1]))]).write(to: folder.appendingPathComponent("missing/w.safetensors"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["w.safetensors"])  // no temporary files left
        try? FileManager.default.removeItem(at: folder)
    }

    /// A valid file's bytes with a replaced header.
    static func file(header: String, data: [UInt8] = Array(repeating: 0, count: 8)) -> Data {
        var bytes = Data()
        var length = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &length) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array(header.utf8))
        bytes.append(contentsOf: data)
        return bytes
    }

    static let handMade: [(String, Data, String)] = [
        ("short", Data([1, 2, 3]), "shorter than the 8-byte header length"),
        ("header longer than file", { var d = file(header: "{}"); d[0] = 200; return d }(), "exceeds the"),
        ("huge header", { var d = file(header: "{}"); d[5] = 1; return d }(), "larger than the maximum"),
        ("not JSON", file(header: "{not json", data: []), "not valid JSON"),
        ("not an object", file(header: "[1,2]", data: []), "does not start with '{'"),
        ("unknown dtype", file(header: #"{"a":{"dtype":"Q8","shape":[2],"data_offsets":[0,8]}}"#), "unknown dtype 'Q8'"),
        ("offsets out of range", file(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#), "outside the 8-byte data section"),
        ("size disagrees", file(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#), "has shape [3] of F32"),
        ("overlap", file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#), "overlaps"),
        ("gap", file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#), "belong to no tensor"),
        ("trailing bytes", file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#), "at the end belong to no tensor"),
        ("negative shape", file(header: #"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#), "invalid shape"),
        ("fractional offset", file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,7.5]}}"#), "invalid data_offsets"),
        ("missing dtype", file(header: #"{"a":{"shape":[2],"data_offsets":[0,8]}}"#), "has no dtype"),
        ("bad metadata", file(header: #"{"__metadata__":{"k":1},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#), "is not a string"),
        ("overflowing shape", file(header: #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#), "too many"),
    ]

    @Test func handMadeCorruptionsEachHaveTheirError() {
        for (label, data, expected) in Self.handMade {
            do {
                _ = try SafeTensors.decode(data, source: "\(label).safetensors")
                Issue.record("\(label): accepted")
            } catch let error as FoveaError {
                #expect(error.kind == .corruptFile, "\(label)")
                #expect(error.message.hasPrefix("\(label).safetensors: ") && error.message.contains(expected), "\(label): \(error.message)")
            } catch {
                Issue.record("\(label): unexpected \(error)")
            }
        }
    }

    /// 1,200 malformed files generated from a valid one — every truncation, header-length field
    /// changes, and random byte damage inside the header — are rejected with a `.corruptFile`
    /// error naming the file, and never crash.
    @Test func generatedMalformedCorpusIsRejected() throws {
        let valid = try SafeTensors(tensors: [("w", Tensor.randomNormal([3, 5], seed: 1)), ("b", Tensor.randomNormal([3], seed: 2))],
                                    metadata: ["k": "v"]).encode()
        let headerEnd = 8 + Int(valid[0]) + Int(valid[1]) << 8
        var corpus: [Data] = []
        for length in 0..<valid.count { corpus.append(valid.prefix(length)) }  // every truncation
        var generator = SeededGenerator(seed: 42)
        while corpus.count < 1200 {
            var damaged = valid
            if corpus.count % 3 == 0 {
                damaged[Int(generator.next() % 8)] = UInt8(truncatingIfNeeded: generator.next())  // header length field
            } else {
                for _ in 0..<(1 + Int(generator.next() % 3)) {
                    let at = 8 + Int(generator.next() % UInt64(headerEnd - 8))
                    damaged[at] = [UInt8(ascii: "}"), UInt8(ascii: "\""), UInt8(ascii: "9"), UInt8(ascii: "-"), 0, 0xFF][Int(generator.next() % 6)]
                }
            }
            corpus.append(damaged)
        }
        var rejected = 0, accepted = 0
        for (index, data) in corpus.enumerated() {
            do {
                let file = try SafeTensors.decode(data, source: "case\(index)")
                // Damage that keeps the file valid (e.g. a digit changed inside the metadata
                // string) must still describe exactly the bytes present.
                #expect(file.tensors.reduce(0) { $0 + $1.tensor.count * 4 } == data.count - headerEnd || data.count != valid.count)
                accepted += 1
            } catch let error as FoveaError {
                #expect(error.kind == .corruptFile && error.message.hasPrefix("case\(index): "), "\(error.message)")
                rejected += 1
            }
        }
        #expect(rejected >= 1000, "rejected \(rejected), accepted \(accepted) of \(corpus.count)")
    }
}

extension Float {
    var double: Double { Double(self) }
}
