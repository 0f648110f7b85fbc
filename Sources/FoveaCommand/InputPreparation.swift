import Fovea
import Foundation

/// How a model's input images are prepared, and what its classes are called — what `fovea train`
/// stores in the checkpoint's metadata and `eval` and `predict` read back. An image becomes
/// `[channels, size, size]`: decoded as grey or RGB, scaled to `[0, 1]`, its shorter side resized
/// to `size` (bilinear), centre-cropped to `size × size`, then `(x − mean[c]) / std[c]`.
struct InputPreparation: Equatable {
    /// `folder`, `fashion-mnist` or `mnist`.
    var dataset: String
    var classNames: [String]
    var channels: Image.Channels
    var size: Int
    var mean: [Float]
    var standardDeviation: [Float]
    /// For an image folder without `train/` and `val/` sub-folders: the fraction of each class held
    /// out for testing, split with `splitSeed` (`ImageFolderDataset.split`).
    var heldOutFraction: Double?
    var splitSeed: UInt64 = 0

    static let imageNetMean: [Float] = [0.485, 0.456, 0.406]
    static let imageNetStandardDeviation: [Float] = [0.229, 0.224, 0.225]

    /// ImageNet's statistics for `channels` (grey: the mean of the three channels' values).
    static func imageNet(_ channels: Image.Channels) -> (mean: [Float], standardDeviation: [Float]) {
        channels == .rgb ? (imageNetMean, imageNetStandardDeviation) : ([0.449], [0.226])
    }

    /// The 28×28 grey images of Fashion-MNIST or MNIST, in `[0, 1]`.
    static func idx(dataset: String, classNames: [String]) -> InputPreparation {
        InputPreparation(dataset: dataset, classNames: classNames, channels: .grey, size: 28, mean: [0], standardDeviation: [1])
    }

    /// What checkpoints from before this was stored meant: Fashion-MNIST's classes, 28×28 grey.
    static let legacy = idx(dataset: "fashion-mnist", classNames: MNISTDataset.fashionClassNames)

    fileprivate enum Key {
        static let dataset = "fovea.dataset", classNames = "fovea.class_names", channels = "fovea.input_channels"
        static let size = "fovea.input_size", mean = "fovea.normalize_mean", standardDeviation = "fovea.normalize_std"
        static let heldOutFraction = "fovea.val_fraction", splitSeed = "fovea.split_seed"
    }

    /// The metadata entries `Checkpoint.save` stores.
    var metadata: [String: String] {
        let names = (try? JSONEncoder().encode(classNames)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        var result = [Key.dataset: dataset, Key.classNames: names, Key.channels: String(channels.rawValue), Key.size: String(size),
                      Key.mean: mean.map { "\($0)" }.joined(separator: ","),
                      Key.standardDeviation: standardDeviation.map { "\($0)" }.joined(separator: ",")]
        if let heldOutFraction {
            result[Key.heldOutFraction] = "\(heldOutFraction)"
            result[Key.splitSeed] = String(splitSeed)
        }
        return result
    }

    /// `image` as the model's input, `[channels, size, size]`; `invert` maps grey levels x → 1 − x
    /// before normalising (Fashion-MNIST shows light clothes on black).
    func prepare(_ image: Image, invert: Bool = false) -> Tensor {
        var pixels = ImageFolderDataset.prepare(image, resize: size, crop: size, mean: Array(repeating: 0, count: channels.rawValue),
                                                standardDeviation: Array(repeating: 1, count: channels.rawValue))
        if invert { pixels.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] = 1 - $0[i] } } }
        return ImageTransforms.normalize(pixels, mean: mean, standardDeviation: standardDeviation)
    }

    /// "32×32 RGB, ImageNet normalisation" and the like, for log lines.
    var summary: String {
        let normalisation = mean.allSatisfy { $0 == 0 } && standardDeviation.allSatisfy { $0 == 1 } ? "pixels in [0, 1]"
            : mean == Self.imageNet(channels).mean && standardDeviation == Self.imageNet(channels).standardDeviation ? "ImageNet normalisation"
            : "mean \(mean), std \(standardDeviation)"
        return "\(size)×\(size) \(channels == .grey ? "grey" : "RGB"), \(normalisation)"
    }
}

extension InputPreparation {
    /// Reads the entries back; nil when `metadata` has none (a checkpoint written before they were
    /// stored, or a plain weights file).
    /// - Throws: `.corruptFile` naming `source` and the entry when one is malformed.
    init?(metadata: [String: String], source: String) throws {
        guard let sizeText = metadata[Key.size] else { return nil }
        func bad(_ key: String) -> FoveaError {
            FoveaError(.corruptFile, "\(source): metadata \(key) = '\(metadata[key] ?? "(missing)")' is not valid")
        }
        func floats(_ key: String) throws -> [Float] {
            let values = (metadata[key] ?? "").split(separator: ",").map { Float(String($0)) }
            guard values.allSatisfy({ $0 != nil && $0!.isFinite }) else { throw bad(key) }
            return values.map { $0! }
        }
        guard let size = Int(sizeText), size > 0 else { throw bad(Key.size) }
        guard let channels = metadata[Key.channels].flatMap(Int.init).flatMap(Image.Channels.init(rawValue:)) else { throw bad(Key.channels) }
        guard let namesText = metadata[Key.classNames], let names = try? JSONDecoder().decode([String].self, from: Data(namesText.utf8)),
              !names.isEmpty else { throw bad(Key.classNames) }
        let mean = try floats(Key.mean), deviation = try floats(Key.standardDeviation)
        guard mean.count == channels.rawValue else { throw bad(Key.mean) }
        guard deviation.count == channels.rawValue, deviation.allSatisfy({ $0 > 0 }) else { throw bad(Key.standardDeviation) }
        var fraction: Double?
        if let text = metadata[Key.heldOutFraction] {
            guard let value = Double(text), value > 0, value < 1 else { throw bad(Key.heldOutFraction) }
            fraction = value
        }
        guard let seed = UInt64(metadata[Key.splitSeed] ?? "0") else { throw bad(Key.splitSeed) }
        self.init(dataset: metadata[Key.dataset] ?? "folder", classNames: names, channels: channels, size: size, mean: mean,
                  standardDeviation: deviation, heldOutFraction: fraction, splitSeed: seed)
    }
}
