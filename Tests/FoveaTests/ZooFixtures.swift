import Foundation
import Fovea

/// The zoo fixtures written by `Scripts/make_zoo_fixtures.py`: `Fixtures/zoo/manifest.json` and,
/// per small variant, `<name>.weights.safetensors` (a torchvision state dict) and
/// `<name>.reference.safetensors` (`input`, and PyTorch's eval-mode logits as `output`).
enum ZooFixtures {
    static let formatVersion = 1

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/zoo")

    struct Manifest: Decodable {
        var format_version: Int
        var torch_version: String
        var zoo: [String: ZooEntry]
        var small: [String: Variant]
    }

    /// What torchvision says about one zoo model.
    struct ZooEntry: Decodable {
        var parameters: Int
        var state_dict_entries: Int
        /// FNV-1a 64 of the sorted "name shape" lines (see `stateDictLines`).
        var state_dict_digest: String
        /// The whole listing, for one model of each kind of block.
        var state_dict: [String: [Int]]?
    }

    /// A reduced-width model built from the same code in PyTorch and Fovea.
    struct Variant: Decodable {
        var family: String
        var classes: Int
        var input_shape: [Int]
        var max_abs_logit: Float
        var torch_float32_max_abs_error: Double
        var parameters: Int
        // AlexNet and VGG
        var channels: [Int]?
        var features: [Int]?
        var batch_norm: Bool?
        var pooled_size: Int?
        var hidden_features: Int?
        // ResNet
        var block: String?
        var layers: [Int]?
        var widths: [Int]?
        // DenseNet
        var growth_rate: Int?
        var blocks: [Int]?
        var initial_features: Int?
        var bottleneck_width: Int?
    }

    /// Full-size fixtures (`--full`): the folder's manifest.
    struct FullManifest: Decodable {
        var format_version: Int
        var models: [String: FullModel]
    }

    struct FullModel: Decodable {
        var input_shape: [Int]
        var classes: Int
        var max_abs_logit: Float
        var torch_float32_max_abs_error: Double
    }

    static func manifest() throws -> Manifest {
        let url = folder.appendingPathComponent("manifest.json")
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: url))
        guard manifest.format_version == formatVersion else {
            throw FoveaError(.corruptFile, "\(url.path): format version \(manifest.format_version), expected \(formatVersion); re-run Scripts/make_zoo_fixtures.py")
        }
        return manifest
    }

    /// The small variants' names, sorted (a fixed list, so tests are parameterised before the
    /// manifest is read; a test fails when the manifest lacks one).
    static let variants = ["alexnet_small", "densenet_small", "resnet_basic_small", "resnet_bottleneck_small", "vgg_bn_small", "vgg_small"]

    static func field<T>(_ value: T?, _ name: String, of variant: String) throws -> T {
        guard let value else { throw FoveaError(.corruptFile, "manifest.json: small variant \(variant) has no '\(name)'") }
        return value
    }

    /// Fovea's twin of a small variant, from the configuration in the manifest.
    static func makeModel(_ name: String, _ v: Variant) throws -> Sequential {
        switch v.family {
        case "alexnet":
            return try AlexNet(AlexNet.Configuration(
                channels: try field(v.channels, "channels", of: name), pooledSize: try field(v.pooled_size, "pooled_size", of: name),
                hiddenFeatures: try field(v.hidden_features, "hidden_features", of: name)), classes: v.classes)
        case "vgg":
            return try VGG(VGG.Configuration(
                features: VGG.Configuration.layout(try field(v.features, "features", of: name)),
                batchNorm: try field(v.batch_norm, "batch_norm", of: name), pooledSize: try field(v.pooled_size, "pooled_size", of: name),
                hiddenFeatures: try field(v.hidden_features, "hidden_features", of: name)), classes: v.classes)
        case "resnet":
            let blockName = try field(v.block, "block", of: name)
            guard let block = ResNet.Block(rawValue: blockName) else { throw FoveaError(.corruptFile, "\(name): unknown block '\(blockName)'") }
            return try ResNet(ResNet.Configuration(block: block, layers: try field(v.layers, "layers", of: name), widths: try field(v.widths, "widths", of: name)),
                          classes: v.classes)
        case "densenet":
            return try DenseNet(DenseNet.Configuration(
                growthRate: try field(v.growth_rate, "growth_rate", of: name), blocks: try field(v.blocks, "blocks", of: name),
                initialFeatures: try field(v.initial_features, "initial_features", of: name),
                bottleneckWidth: try field(v.bottleneck_width, "bottleneck_width", of: name)), classes: v.classes)
        default:
            throw FoveaError(.corruptFile, "\(name): unknown family '\(v.family)'")
        }
    }

    /// `input` and PyTorch's logits `output` of a reference file.
    static func reference(_ url: URL) throws -> (input: Tensor, output: Tensor) {
        let file = try SafeTensors.read(from: url)
        guard let input = file["input"], let output = file["output"] else {
            throw FoveaError(.corruptFile, "\(url.path) needs tensors 'input' and 'output', has \(file.tensors.map(\.name))")
        }
        return (input, output)
    }

    /// The sorted "name shape" lines of a state dict, shape as comma-separated sizes (empty for a
    /// scalar) — what the manifest's digest is computed over.
    static func stateDictLines(_ entries: [(name: String, shape: [Int])]) -> [String] {
        entries.map { "\($0.name) \($0.shape.map(String.init).joined(separator: ","))" }.sorted()
    }

    /// FNV-1a, 64 bits, of the UTF-8 bytes of `text`, as 16 hex digits.
    static func fnv1a64(_ text: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
