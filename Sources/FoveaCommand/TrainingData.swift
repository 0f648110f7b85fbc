import ArgumentParser
import Fovea
import Foundation

/// The data `fovea train` learns from and tests on, and how its images are prepared: the IDX files
/// of Fashion-MNIST or MNIST, or an image folder with one sub-folder per class (torchvision's
/// `ImageFolder`), either already split into `train/` and `val/` (or `test/`) or split here by
/// holding out a seeded fraction of each class.
struct TrainingData {
    var train: any ImageDataset
    var test: any ImageDataset
    var preparation: InputPreparation
    /// Where the data came from, for the log.
    var source: String

    var classNames: [String] { preparation.classNames }

    /// The default held-out fraction of an image folder without `train/` and `val/`.
    static let defaultHeldOutFraction = 0.2

    /// Whether `data` names an image folder: `--dataset folder`, or a `--data-dir` that has
    /// sub-folders and no IDX files.
    /// - Throws: `.invalidArgument` for `--dataset folder` without `--data-dir`.
    static func isImageFolder(_ data: DatasetOptions) throws -> Bool {
        if data.dataset == "folder" {
            guard data.dataDir != nil else {
                throw FoveaError.invalidArgument("--dataset folder needs --data-dir <folder with one sub-folder per class>")
            }
            return true
        }
        guard let dataDir = data.dataDir, let names = try? FileManager.default.contentsOfDirectory(atPath: dataDir) else { return false }
        let visible = names.filter { !$0.hasPrefix(".") }
        return !visible.contains { $0.contains("-ubyte") } && visible.contains { isFolder(URL(fileURLWithPath: dataDir).appendingPathComponent($0)) }
    }

    /// `root/train` and `root/val` (or `root/test`) when both exist.
    static func splitFolders(_ root: URL) -> (train: URL, test: URL)? {
        let train = root.appendingPathComponent("train")
        guard isFolder(train) else { return nil }
        return ["val", "test"].map { root.appendingPathComponent($0) }.first(where: isFolder).map { (train, $0) }
    }

    static func isFolder(_ url: URL) -> Bool {
        var folder: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &folder) && folder.boolValue
    }

    /// At most `limit` examples spread evenly over `dataset` (whose files are in class order, so
    /// every class keeps its share).
    static func spread(_ dataset: ImageFolderDataset, limit: Int?) -> ImageFolderDataset {
        guard let limit, limit < dataset.count else { return dataset }
        return dataset.subset((0..<limit).map { $0 * dataset.count / limit })
    }

    /// The input channels of `model`'s first convolution in `weights`, if the weights have it.
    static func inputChannels(of model: String, in weights: [String: Tensor]) throws -> Int? {
        let network = try Initializer.withoutRandomValues { try BuiltInModels.make(model) }
        guard let first = network.namedLayers().first(where: { $0.layer is Conv2D }),
              let weight = weights[first.name.isEmpty ? "weight" : first.name + ".weight"], weight.shape.rank == 4 else { return nil }
        return weight.shape[1]
    }
}

extension TrainingData {
    /// The training run's data. `pretrained` (`--from`) and `resumed` (`--resume`) decide the
    /// defaults of an image folder's preparation: a resumed run keeps the stored one; input size
    /// and channels follow the pretrained checkpoint (channels: of its first convolution); `--normalize auto` uses the pretrained checkpoint's stored
    /// normalisation, or ImageNet's for a weights file not written by fovea (torchvision's).
    static func forTraining(_ data: DatasetOptions, _ options: ImageFolderOptions, model: String, pretrained: (name: String, checkpoint: Checkpoint)?,
                            resumed: (name: String, checkpoint: Checkpoint)?, limit: Int?, testLimit: Int?,
                            classes: [Int]?, perClass: Int?) throws -> TrainingData {
        guard try isImageFolder(data) else {
            if options.inputSize.map({ $0 != 28 }) ?? false || options.grey || options.normalize != "auto" || options.valFraction != nil {
                throw FoveaError.invalidArgument("--input-size, --grey, --normalize and --val-fraction apply to an image folder (--data-dir <folder with one sub-folder per class>); \(data.dataset) images are 28×28 grey")
            }
            return try idx(data, limit: limit, testLimit: testLimit, classes: classes, perClass: perClass)
        }
        guard classes == nil, perClass == nil else {
            throw FoveaError.invalidArgument("--classes and --per-class apply to fashion-mnist and mnist; for an image folder, leave out the class folders you do not want")
        }
        let root = URL(fileURLWithPath: data.dataDir!)
        let stored = try resumed.flatMap { try InputPreparation(metadata: $0.checkpoint.metadata, source: $0.name) }
        let fromStored = try pretrained.flatMap { try InputPreparation(metadata: $0.checkpoint.metadata, source: $0.name) }
        let size = try options.inputSize ?? stored?.size ?? fromStored?.size ?? BuiltInModels.defaults(for: model).inputShape[2]
        if SmallModels.names.contains(model), model != "resnet-small", size != 28 {
            throw FoveaError.invalidArgument("--input-size \(size): \(model) takes 28×28 images only (its first linear layer expects 64×7×7 features); use resnet-small or a zoo model for other sizes")
        }
        var channels: Image.Channels? = options.grey ? .grey : stored?.channels
        if channels == nil, let pretrained {
            channels = try inputChannels(of: model, in: pretrained.checkpoint.weights).flatMap(Image.Channels.init(rawValue:))
        }
        var fraction: Double? = options.valFraction ?? stored?.heldOutFraction ?? defaultHeldOutFraction
        var train: ImageFolderDataset, test: ImageFolderDataset
        let source: String
        if let (trainRoot, testRoot) = splitFolders(root) {
            train = try ImageFolderDataset(root: trainRoot, channels: channels, resize: size, crop: size)
            test = try ImageFolderDataset(root: testRoot, channels: train.channels, resize: size, crop: size)
            guard test.classNames == train.classNames else {
                throw FoveaError.invalidArgument("\(testRoot.path) has the classes \(test.classNames.joined(separator: ", ")) but \(trainRoot.path) has \(train.classNames.joined(separator: ", ")); they must be the same")
            }
            fraction = nil
            source = "\(trainRoot.path) and \(testRoot.path)"
        } else {
            let all = try ImageFolderDataset(root: root, channels: channels, resize: size, crop: size)
            try requireTwoClasses(all)
            (train, test) = try all.split(heldOutFraction: fraction!, seed: 0)
            guard test.count > 0 else {
                throw FoveaError.invalidArgument("\(root.path): every class has a single image, so none can be held out for testing; add images or give train/ and val/ sub-folders")
            }
            source = "\(root.path) (\(Int((fraction! * 100).rounded()))% of each class held out for testing)"
        }
        try requireTwoClasses(train)
        let normalisation: (mean: [Float], standardDeviation: [Float])
        switch options.normalize {
        case "imagenet": normalisation = InputPreparation.imageNet(train.channels)
        case "none": normalisation = (Array(repeating: 0, count: train.channels.rawValue), Array(repeating: 1, count: train.channels.rawValue))
        default:
            if let kept = [stored, fromStored].compactMap({ $0 }).first(where: { $0.channels == train.channels }) {
                normalisation = (kept.mean, kept.standardDeviation)
            } else if let pretrained, pretrained.checkpoint.metadata["fovea.model"] == nil {
                normalisation = InputPreparation.imageNet(train.channels)
            } else {
                normalisation = (Array(repeating: 0, count: train.channels.rawValue), Array(repeating: 1, count: train.channels.rawValue))
            }
        }
        train = try spread(train.normalized(mean: normalisation.mean, standardDeviation: normalisation.standardDeviation), limit: limit)
        test = try spread(test.normalized(mean: normalisation.mean, standardDeviation: normalisation.standardDeviation), limit: testLimit)
        let preparation = InputPreparation(dataset: "folder", classNames: train.classNames, channels: train.channels, size: size,
                                           mean: normalisation.mean, standardDeviation: normalisation.standardDeviation, heldOutFraction: fraction)
        return TrainingData(train: train, test: test, preparation: preparation, source: source)
    }

    static func requireTwoClasses(_ dataset: ImageFolderDataset) throws {
        guard dataset.classNames.count >= 2 else {
            throw FoveaError.invalidArgument("\(dataset.root.path): only one class folder (\(dataset.classNames[0])); a classifier needs at least two, one sub-folder per class")
        }
    }

    /// Fashion-MNIST or MNIST from IDX files, optionally restricted to `classes` (relabelled from 0)
    /// and `perClass` training images per class.
    static func idx(_ data: DatasetOptions, limit: Int?, testLimit: Int?, classes: [Int]?, perClass: Int?) throws -> TrainingData {
        var train = try data.load(.train, limit: limit)
        var test = try data.load(.test, limit: testLimit)
        if let classes {
            if let missing = classes.first(where: { $0 >= train.classNames.count }) {
                throw ValidationError("--classes: the dataset has \(train.classNames.count) classes (0-\(train.classNames.count - 1)), got \(missing)")
            }
            train = train.restricted(toClasses: classes, perClass: perClass)
            test = test.restricted(toClasses: classes)
        } else if let perClass {
            train = train.restricted(toClasses: Array(0..<train.classNames.count), perClass: perClass)
        }
        return TrainingData(train: train, test: test, preparation: .idx(dataset: data.dataset, classNames: train.classNames),
                            source: data.dataset)
    }

    /// The test set `fovea eval` uses for a checkpoint whose preparation is `stored` (nil for
    /// checkpoints written before it was stored): for an image folder, its `val/` (or `test/`)
    /// sub-folder, else the held-out part of the stored split (`heldOutFraction` overrides it; 1
    /// takes every image), prepared as in training; otherwise the IDX test set.
    static func forEvaluation(_ data: DatasetOptions, stored: InputPreparation?, weights: String, heldOutFraction: Double?,
                              limit: Int?) throws -> (test: any ImageDataset, preparation: InputPreparation) {
        guard try isImageFolder(data) else {
            if let stored, stored.dataset == "folder" {
                throw FoveaError.invalidArgument("\(weights) was trained on an image folder; give it with --data-dir")
            }
            let test = try data.load(.test, limit: limit)
            return (test, stored ?? .idx(dataset: data.dataset, classNames: test.classNames))
        }
        guard let stored else {
            throw FoveaError.invalidArgument("\(weights) does not store how its images were prepared (class names, input size, channels); it was not trained on an image folder by fovea train --data-dir")
        }
        guard stored.dataset == "folder" else {
            throw FoveaError.invalidArgument("\(weights) was trained on \(stored.dataset), not on an image folder; leave out --data-dir or give the IDX folder with --dataset \(stored.dataset)")
        }
        let root = URL(fileURLWithPath: data.dataDir!)
        var test: ImageFolderDataset
        if let (_, testRoot) = splitFolders(root) {
            test = try ImageFolderDataset(root: testRoot, channels: stored.channels, resize: stored.size, crop: stored.size)
        } else {
            test = try ImageFolderDataset(root: root, channels: stored.channels, resize: stored.size, crop: stored.size)
            if let fraction = heldOutFraction ?? stored.heldOutFraction, fraction < 1 {
                test = try test.split(heldOutFraction: fraction, seed: stored.splitSeed).heldOut
            }
        }
        guard test.count > 0 else { throw FoveaError.invalidArgument("\(root.path): no images held out for testing (every class has a single image); give --val-fraction 1 to test on all of them") }
        guard test.classNames == stored.classNames else {
            throw FoveaError.invalidArgument("\(test.root.path) has the classes \(test.classNames.joined(separator: ", ")) but \(weights) was trained on \(stored.classNames.joined(separator: ", "))")
        }
        test = try spread(test.normalized(mean: stored.mean, standardDeviation: stored.standardDeviation), limit: limit)
        return (test, stored)
    }
}
