import Foundation
import Fovea

/// The layers `fovea-bench layers` times, as a JSON file for the PyTorch and ONNX Runtime peer
/// (`fovea-bench layers … --write-layers layers.json`, then
/// `Benchmarks/pytorch_bench.py --layers layers.json`), so both time the same layers under the
/// same names and `fovea-bench compare` matches them:
///
///     {"tool": "fovea-bench", "formatVersion": 1, "layers": [
///       {"name": "resnet50 layer2.0.downsample.0 256→512 1×1/2 @56 ×1", "inputChannels": 256,
///        "outputChannels": 512, "kernel": 1, "size": 56, "stride": 2, "padding": 0}, …]}
///
/// Input `[batch, inputChannels, size, size]`, weight `[outputChannels, inputChannels, kernel, kernel]`,
/// the same stride and padding on both axes.
public struct BenchLayerList: Codable, Sendable {
    public static let formatVersion = 1

    /// One layer's geometry, as `pytorch_bench.py` reads it.
    public struct Entry: Codable, Sendable, Equatable {
        public var name: String
        public var inputChannels: Int
        public var outputChannels: Int
        public var kernel: Int
        public var size: Int
        public var stride: Int
        public var padding: Int
    }

    public var tool = "fovea-bench"
    public var formatVersion = Self.formatVersion
    public var layers: [Entry]

    /// The list of `layers`.
    /// - Throws: `BenchError` for a layer with groups, dilation or unequal stride or padding per
    ///   axis, which the entry cannot carry.
    public init(_ layers: [BenchLayer]) throws {
        self.layers = try layers.map { layer in
            let o = layer.options
            guard o.groups == 1, o.dilation == Size2D(1), o.stride.height == o.stride.width, o.padding.height == o.padding.width else {
                throw BenchError("\(layer.name): \(o) cannot be written to a layer list (one stride and padding, no dilation or groups)")
            }
            return Entry(name: layer.name, inputChannels: layer.inputChannels, outputChannels: layer.outputChannels,
                         kernel: layer.kernel, size: layer.size, stride: o.stride.height, padding: o.padding.height)
        }
    }

    /// The layers of the list.
    public var benchLayers: [BenchLayer] {
        layers.map { BenchLayer($0.name, $0.inputChannels, $0.outputChannels, kernel: $0.kernel, size: $0.size, stride: $0.stride, padding: $0.padding) }
    }

    /// Pretty-printed JSON with sorted keys.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Reads a list written by `jsonData()`.
    /// - Throws: `BenchError` naming the file for unreadable JSON or another format version.
    public static func read(_ data: Data, from file: String) throws -> BenchLayerList {
        let list: BenchLayerList
        do {
            list = try JSONDecoder().decode(BenchLayerList.self, from: data)
        } catch {
            throw BenchError("\(file) is not a fovea-bench layer list: \(error)")
        }
        guard list.formatVersion == formatVersion else {
            throw BenchError("\(file) is layer list format \(list.formatVersion); this fovea-bench reads format \(formatVersion)")
        }
        return list
    }
}
