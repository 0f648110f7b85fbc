import Foundation
import Fovea
import Testing

@Suite("IDX and MNIST-format datasets")
struct IDXTests {
    /// An IDX file of unsigned bytes with the given dimensions and contents.
    static func idx(_ dimensions: [Int], _ bytes: [UInt8], magic: [UInt8] = [0, 0, 8]) -> Data {
        var data = Data(magic + [UInt8(dimensions.count)])
        for d in dimensions { data.append(contentsOf: [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)]) }
        data.append(contentsOf: bytes)
        return data
    }

    private func message(_ body: () throws -> Void) -> String {
        do { try body() } catch let error as FoveaError { return error.message } catch { return "unexpected \(error)" }
        return "no error"
    }

    @Test func decodesKnownPixels() throws {
        let file = try IDXFile.decode(Self.idx([2, 2, 3], Array(0..<12)), source: "t")
        #expect(file.dimensions == [2, 2, 3])
        #expect(file.bytes == Array(0..<12))
    }

    @Test func corruptFilesAreNamedErrors() {
        #expect(message { _ = try IDXFile.decode(Self.idx([2, 2], [1, 2, 3]), source: "short.idx") }
            .contains("short.idx: truncated: dimensions [2, 2] need 4 bytes of data, the file has 3"))
        #expect(message { _ = try IDXFile.decode(Self.idx([2], [1, 2], magic: [0x1F, 0, 8]), source: "m.idx") }
            .contains("m.idx: wrong magic number"))
        #expect(message { _ = try IDXFile.decode(Self.idx([2], [1, 2], magic: [0, 0, 0x0D]), source: "f.idx") }
            .contains("element type 0x0D is not supported"))
        #expect(message { _ = try IDXFile.decode(Data([0, 0, 8, 3, 0, 0]), source: "h.idx") }.contains("truncated header"))
        #expect(message { _ = try IDXFile.decode(Self.idx([1], [1, 2]), source: "x.idx") }.contains("1 bytes of data beyond"))
    }

    @Test func truncatedGzipIsNamed() throws {
        let compressed = try Data(contentsOf: URL(fileURLWithPath: MNISTDataset.debianFashionFolder + "/t10k-labels-idx1-ubyte.gz"))
        let text = message { _ = try IDXFile.decode(compressed.prefix(compressed.count / 2), source: "labels.gz") }
        #expect(text.contains("labels.gz") && text.contains("truncated"), "\(text)")
        var damaged = compressed
        for i in 20..<60 { damaged[i] ^= 0x5A }
        let damagedText = message { _ = try IDXFile.decode(damaged, source: "bad.gz") }
        #expect(damagedText.contains("bad.gz"), "\(damagedText)")
    }

    @Test func datasetChecksCountsAndLabels() throws {
        let folder = try DataFixtures.temporaryFolder("idx")
        try Self.idx([3, 2, 2], Array(repeating: 255, count: 12)).write(to: folder.appendingPathComponent("t10k-images-idx3-ubyte"))
        try Self.idx([2], [1, 2]).write(to: folder.appendingPathComponent("t10k-labels-idx1-ubyte"))
        let text = message { _ = try MNISTDataset.load(folder: folder, split: .test) }
        #expect(text.contains("has 3 images but t10k-labels-idx1-ubyte has 2 labels"), "\(text)")
        try Self.idx([3], [1, 2, 12]).write(to: folder.appendingPathComponent("t10k-labels-idx1-ubyte"))
        #expect(message { _ = try MNISTDataset.load(folder: folder, split: .test) }.contains("label 12 is outside 0..<10"))
        try Self.idx([3], [1, 2, 9]).write(to: folder.appendingPathComponent("t10k-labels-idx1-ubyte"))
        let data = try MNISTDataset.load(folder: folder, split: .test)
        #expect(data.images.shape == [3, 1, 2, 2] && data.labels == [1, 2, 9])
        #expect(data.images.scalars.allSatisfy { $0 == 1 })
        #expect(message { _ = try MNISTDataset.load(folder: folder, split: .train) }.contains("neither train-images-idx3-ubyte.gz"))
        try? FileManager.default.removeItem(at: folder)
    }

    /// The real Fashion-MNIST test set from Debian's package, against checksums computed by
    /// `Scripts/make_data_fixtures.py` with Python's gzip.
    @Test func realFashionMNISTTestSet() throws {
        let reference = try #require(try DataFixtures.load().fashion_mnist_test, "re-run make_data_fixtures.py with dataset-fashion-mnist installed")
        let data = try MNISTDataset.load(folder: MNISTDataset.defaultFolder(), split: .test)
        #expect(data.count == reference.count)
        #expect(data.labels[0] == reference.first_label)
        #expect(MNISTDataset.fashionClassNames[data.labels[0]] == "Ankle boot")
        let firstBytes = data.images.scalars.prefix(784).map { UInt8(($0 * 255).rounded()) }
        #expect(firstBytes.reduce(0) { $0 + Int($1) } == reference.first_image_byte_sum)
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in firstBytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        #expect(String(hash) == reference.first_image_fnv1a64)
        #expect((0..<10).map { c in data.labels.filter { $0 == c }.count } == reference.label_histogram)
    }
}
