import Fovea

/// Fingerprints of every convolution result the layer suite produces, so that a change which must
/// not alter a single bit (a refactor) can be checked: write the fingerprints before, write them
/// after, compare the two files (`Scripts/compare-convolution-results.sh`).
///
/// One line per case: layer, size (`reduced`: output 2–3 positions, batch 2; `full`: the ImageNet
/// size, batch 1), pass, engine (`dispatch`, `openblas`, each also with a 4 KiB workspace that forces
/// the tiled paths), threads, then the element count and a 64-bit FNV-1a hash of the float bits.
/// Uses only the `Device` protocol's convolution operations, which a refactor keeps.
public struct ConvolutionResults {
    public var layers: [BenchLayer]
    public var threads: [Int]
    public var includeFullSize: Bool

    public init(layers: [BenchLayer] = LayerSuite.imageNet, threads: [Int] = [1, 2], includeFullSize: Bool = true) {
        self.layers = layers
        self.threads = threads
        self.includeFullSize = includeFullSize
    }

    /// The engines fingerprinted: name shown in the file, device name, workspace limit.
    static let engines: [(label: String, device: String, workspaceBytes: Int?)] = [
        ("dispatch", "dispatch", nil), ("dispatch, 4096 B workspace", "dispatch", 4096),
        ("openblas", "openblas", nil), ("openblas, 4096 B workspace", "openblas", 4096),
    ]

    /// The fingerprint lines, in a fixed order; `progress` hears each layer's name.
    public func lines(progress: (String) -> Void = { _ in }) throws -> [String] {
        var lines: [String] = []
        for layer in layers {
            progress(layer.name)
            var sizes: [(label: String, layer: BenchLayer, batch: Int)] = [("reduced", LayerRunner.reduced(layer), 2)]
            if includeFullSize { sizes.append(("full", layer, 1)) }
            for size in sizes {
                let operands = LayerRunner.Operands(try size.layer.geometry(batch: size.batch), layerName: layer.name)
                for engine in Self.engines {
                    // The 4 KiB workspace matters for the tiled paths; full-size layers take the default only.
                    if engine.workspaceBytes != nil && size.label == "full" { continue }
                    for threadCount in threads {
                        let device = try Devices.make(engine.device, threads: threadCount, workspaceBytes: engine.workspaceBytes)
                        for pass in LayerRunner.Pass.allCases {
                            let result = operands.run(pass, on: device)
                            lines.append("\(layer.name) | \(size.label) | \(pass.rawValue) | \(engine.label) | \(threadCount) threads | \(result.count) | \(Self.fingerprint(result))")
                        }
                    }
                }
            }
        }
        return lines
    }

    /// FNV-1a over the bit patterns of the scalars, as 16 hex digits.
    static func fingerprint(_ tensor: Tensor) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        tensor.withUnsafeBufferPointer { values in
            for value in values {
                var bits = value.bitPattern
                for _ in 0..<4 {
                    hash = (hash ^ UInt64(bits & 0xff)) &* 0x0000_0100_0000_01b3
                    bits >>= 8
                }
            }
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
