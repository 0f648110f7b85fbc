import Foundation
import Fovea
import Testing

/// `Checkpoint.load` checks each tensor's dtype against what the tensor holds: an I32 weight used
/// to load as if its bytes were floats (an eval printed loss 1.9e9).
@Suite("Checkpoint dtype checks")
struct CheckpointDTypeTests {
    /// One tensor of a safetensors file: its dtype, shape and little-endian bytes.
    struct Entry {
        var name: String
        var dtype: String
        var shape: [Int]
        var bytes: [UInt8]
    }

    static func littleEndian<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    }

    static func f32(_ values: [Float]) -> [UInt8] { littleEndian(values.map(\.bitPattern)) }

    /// Writes `entries` as a safetensors file in a fresh temporary folder.
    static func write(_ entries: [Entry]) throws -> URL {
        var offset = 0
        var fields: [String] = []
        for entry in entries {
            fields.append("\"\(entry.name)\":{\"dtype\":\"\(entry.dtype)\",\"shape\":\(entry.shape),\"data_offsets\":[\(offset),\(offset + entry.bytes.count)]}")
            offset += entry.bytes.count
        }
        let header = "{" + fields.joined(separator: ",") + "}"
        var data = Data(littleEndian([UInt64(header.utf8.count)]))
        data.append(contentsOf: Array(header.utf8))
        for entry in entries { data.append(contentsOf: entry.bytes) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fovea-dtype-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent("weights.safetensors")
        try data.write(to: url)
        return url
    }

    /// A BatchNorm2D(2)'s state with `weight` given as `weight`; the rest F32 / I64.
    static func batchNormFile(weight: Entry) throws -> URL {
        try write([
            weight,
            Entry(name: "bias", dtype: "F32", shape: [2], bytes: f32([0.5, -0.5])),
            Entry(name: "running_mean", dtype: "F32", shape: [2], bytes: f32([0, 0])),
            Entry(name: "running_var", dtype: "F32", shape: [2], bytes: f32([1, 1])),
            Entry(name: "num_batches_tracked", dtype: "I64", shape: [], bytes: littleEndian([Int64(7)])),
        ])
    }

    @Test func integerWeightIsRejectedNamingFileTensorAndBothDTypes() throws {
        let url = try Self.batchNormFile(weight: Entry(name: "weight", dtype: "I32", shape: [2], bytes: Self.littleEndian([Int32(3), Int32(4)])))
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        do {
            _ = try Checkpoint.load(from: url)
            Issue.record("an I32 weight loaded")
        } catch let error as FoveaError {
            #expect(error.kind == .corruptFile)
            for fragment in [url.path, "'weight'", "dtype I32", "expected a floating-point dtype"] {
                #expect(error.message.contains(fragment), "\(error.message) lacks \(fragment)")
            }
        }
    }

    @Test func boolAndIntegerWeightsAreRejected() throws {
        for (dtype, bytes) in [("BOOL", [UInt8(1), 0]), ("U8", [UInt8(1), 2]), ("I64", Self.littleEndian([Int64(1), 2]) as [UInt8])] {
            let size = dtype == "I64" ? 8 : 1
            let url = try Self.batchNormFile(weight: Entry(name: "weight", dtype: dtype, shape: [bytes.count / size], bytes: bytes))
            defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
            #expect(throws: FoveaError.self, "\(dtype)") { _ = try Checkpoint.load(from: url) }
        }
    }

    /// num_batches_tracked as I64 (PyTorch's) and the F16/BF16 weights convert exactly.
    @Test func exactConversionsLoad() throws {
        // F16 0x3C00 = 1, 0xC000 = −2; BF16 0x3FC0 = 1.5, 0x4040 = 3.
        for (dtype, bits, expected) in [("F16", [UInt16(0x3C00), 0xC000], [Float(1), -2]), ("BF16", [UInt16(0x3FC0), 0x4040], [Float(1.5), 3])] {
            let url = try Self.batchNormFile(weight: Entry(name: "weight", dtype: dtype, shape: [2], bytes: Self.littleEndian(bits)))
            defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
            let norm = try BatchNorm2D(2)
            try Checkpoint.load(from: url).restore(into: norm)
            #expect(norm.weight.value.scalars == expected, "\(dtype)")
            #expect(norm.batchesTracked.value.scalars == [7])
            #expect(norm.bias.value.scalars == [0.5, -0.5])
        }
    }

    @Test func integerBufferTakesIntegerOrWholeFloatDTypes() throws {
        let weight = Entry(name: "weight", dtype: "F32", shape: [2], bytes: Self.f32([1, 1]))
        var files = [(URL, Bool)]()
        for (dtype, bytes, valid) in [("I32", Self.littleEndian([Int32(5)]), true), ("F32", Self.f32([5]), true),
                                      ("F32", Self.f32([5.5]), false), ("BOOL", [UInt8(1)], false)] {
            var entries = [weight]
            entries.append(Entry(name: "num_batches_tracked", dtype: dtype, shape: [], bytes: bytes))
            files.append((try Self.write(entries), valid))
        }
        defer { for (url, _) in files { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) } }
        for (url, valid) in files {
            if valid {
                #expect(try Checkpoint.load(from: url).weights["num_batches_tracked"]?.scalars == [5])
            } else {
                let error = #expect(throws: FoveaError.self) { _ = try Checkpoint.load(from: url) }
                #expect(error?.message.contains("'num_batches_tracked'") == true, "\(String(describing: error))")
            }
        }
    }

    /// The reader records each tensor's file dtype.
    @Test func safeTensorsRecordsDTypes() throws {
        let url = try Self.write([Entry(name: "a", dtype: "I32", shape: [1], bytes: Self.littleEndian([Int32(9)])),
                                  Entry(name: "b", dtype: "F32", shape: [1], bytes: Self.f32([2]))])
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let file = try SafeTensors.read(from: url)
        #expect(file.dtypes == ["a": .i32, "b": .f32])
        #expect(file["a"]?.scalars == [9])
    }
}
