import Foundation
import Fovea

/// `Fixtures/data/` (written by `Scripts/make_data_fixtures.py`).
enum DataFixtures {
    struct Document: Decodable {
        struct RGB: Decodable { var height: Int; var width: Int; var hwc: [Int] }
        struct Grey: Decodable { var height: Int; var width: Int; var hw: [Int] }
        struct Photo: Decodable { var height: Int; var width: Int; var hwc_decoded_by_pillow: [Int] }
        struct Values: Decodable { var shape: [Int]; var values: [Double] }
        struct Fashion: Decodable {
            var count: Int
            var first_label: Int
            var first_image_byte_sum: Int
            var first_image_fnv1a64: String
            var label_histogram: [Int]
        }
        var format_version: Int
        var rgb_4x3: RGB
        var grey_5x2: Grey
        var photo_16x12: Photo
        var dtypes: [String: Values]
        var fashion_mnist_test: Fashion?
    }

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/data")

    static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    static func load() throws -> Document {
        let document = try JSONDecoder().decode(Document.self, from: Data(contentsOf: url("data.json")))
        guard document.format_version == 1 else {
            throw FoveaError(.corruptFile, "data.json: format version \(document.format_version), expected 1; re-run Scripts/make_data_fixtures.py")
        }
        return document
    }

    /// A fresh empty folder under the temporary directory.
    static func temporaryFolder(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fovea-tests-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
