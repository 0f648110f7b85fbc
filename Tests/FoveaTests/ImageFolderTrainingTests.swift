import Foundation
import Fovea
import FoveaTestSupport
import Testing

/// `fovea train --data-dir <folder of class sub-folders>` (run as a child process), `eval` and
/// `predict` on its checkpoint, the held-out split, and the errors for folders that cannot be
/// trained on.
@Suite("fovea train on an image folder")
struct ImageFolderTrainingTests {
    static let classes = ["blue", "green", "red"]

    /// Writes `root/<class>/<i>.png`: `perClass` noisy `size × size` images per class, each mostly
    /// its class's colour (blue, green, red) — or, `grey`, dark, middle and light grey levels.
    static func writeFolder(_ root: URL, perClass: Int, size: Int = 16, grey: Bool = false, seed: UInt64 = 1) throws {
        var generator = SeededGenerator(seed: seed)
        for (label, name) in classes.enumerated() {
            let folder = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for index in 0..<perClass {
                try picture(label: label, size: size, grey: grey, using: &generator).writePNG(to: folder.appendingPathComponent("\(index).png"))
            }
        }
    }

    /// A noisy picture in the colour (or grey level) of class `label`.
    static func picture(label: Int, size: Int, grey: Bool, using generator: inout SeededGenerator) throws -> Image {
        let channels = grey ? 1 : 3
        var pixels = Tensor(zeros: [channels, size, size])
        pixels.withUnsafeMutableBufferPointer { values in
            for channel in 0..<channels {
                let level: Float = grey ? 40 + 80 * Float(label) : (channel == 2 - label ? 200 : 50)
                for i in 0..<(size * size) { values[channel * size * size + i] = level + 60 * (generator.nextUnitFloat() - 0.5) }
            }
        }
        return try Image(pixels: pixels)
    }

    /// The percentage in the last "<label> accuracy N%" of `output`.
    static func lastAccuracy(_ label: String, in output: String) -> Double? {
        output.components(separatedBy: "\(label) accuracy ").dropFirst().last.flatMap { Double($0.prefix { $0 != "%" }) }
    }

    @Test func trainEvalPredictOnAFolderWithAHeldOutSplit() throws {
        let root = try DataFixtures.temporaryFolder("image-folder")
        defer { try? FileManager.default.removeItem(at: root) }
        let images = root.appendingPathComponent("images"), weights = root.appendingPathComponent("model.safetensors").path
        try Self.writeFolder(images, perClass: 20)
        let train = try ZooCommandTests.run(["train", "--data-dir", images.path, "--model", "cnn", "--input-size", "28", "--epochs", "2",
                                             "--batch-size", "8", "--lr", "0.01", "--out", weights])
        #expect(train.status == 0, "\(train.error)")
        // 20 per class, 20% (4) of each held out.
        #expect(train.output.contains("48 training and 12 test images"), "\(train.output)")
        #expect(train.output.contains("3 classes, 28×28 RGB, pixels in [0, 1]"), "\(train.output)")
        let accuracy = try #require(Self.lastAccuracy("test", in: train.output), "\(train.output)")
        #expect(accuracy > 100.0 / 3 + 20, "\(train.output)")

        // eval rebuilds the same held-out split and preparation from the checkpoint: recolour every
        // training image as the next class, so that only the held-out ones still match their folder.
        var generator = SeededGenerator(seed: 9)
        let split = try ImageFolderDataset(root: images, crop: 16).split(heldOutFraction: 0.2, seed: 0)
        for file in split.train.files {
            try Self.picture(label: (file.label + 1) % 3, size: 16, grey: false, using: &generator).writePNG(to: file.url)
        }
        let eval = try ZooCommandTests.run(["eval", "--weights", weights, "--data-dir", images.path])
        #expect(eval.status == 0, "\(eval.error)")
        #expect(eval.output.contains("(12 images)"), "\(eval.output)")
        #expect(Self.lastAccuracy("test", in: eval.output) == accuracy, "\(eval.output)")
        let all = try ZooCommandTests.run(["eval", "--weights", weights, "--data-dir", images.path, "--val-fraction", "1"])
        #expect(all.status == 0 && all.output.contains("(60 images)"), "\(all.output)\(all.error)")
        #expect(try #require(Self.lastAccuracy("test", in: all.output)) < accuracy - 30, "\(all.output)")
        let idx = try ZooCommandTests.run(["eval", "--weights", weights])
        #expect(idx.status != 0 && idx.error.contains("\(weights) was trained on an image folder; give it with --data-dir"), "\(idx.error)")

        // predict prints the folder's class names, not Fashion-MNIST's.
        let predict = try ZooCommandTests.run(["predict", "--weights", weights, try #require(split.heldOut.files.first { $0.label == 2 }).url.path])
        #expect(predict.status == 0, "\(predict.error)")
        #expect(Self.classes.allSatisfy(predict.output.contains) && predict.output.contains("28×28 RGB"), "\(predict.output)")
        #expect(predict.output.contains("  1. red          "), "\(predict.output)")
    }

    /// `root/train/<class>` + `root/val/<class>`, a zoo model at 32×32, then `--from` its checkpoint
    /// with `--freeze backbone` (the stored preparation is kept).
    @Test func zooModelOnTrainAndValFoldersThenTransfer() throws {
        let root = try DataFixtures.temporaryFolder("image-folder-zoo")
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.writeFolder(root.appendingPathComponent("train"), perClass: 4, size: 32, grey: true, seed: 2)
        try Self.writeFolder(root.appendingPathComponent("val"), perClass: 2, size: 32, grey: true, seed: 3)
        let first = root.appendingPathComponent("resnet.safetensors").path, second = root.appendingPathComponent("tuned.safetensors").path
        let train = try ZooCommandTests.run(["train", "--data-dir", root.path, "--model", "resnet18", "--input-size", "32", "--epochs", "1",
                                             "--batch-size", "6", "--normalize", "imagenet", "--out", first])
        #expect(train.status == 0, "\(train.error)")
        #expect(train.output.contains("12 training and 6 test images"), "\(train.output)")
        #expect(train.output.contains("3 classes, 32×32 grey, ImageNet normalisation"), "\(train.output)")
        let tuned = try ZooCommandTests.run(["train", "--data-dir", root.path, "--model", "resnet18", "--from", first, "--freeze", "backbone",
                                             "--epochs", "1", "--batch-size", "6", "--out", second])
        #expect(tuned.status == 0, "\(tuned.error)")
        #expect(tuned.output.contains("3 classes, 32×32 grey, ImageNet normalisation"), "\(tuned.output)")
        // --resume keeps the stored preparation (without it resnet18 would default to 224×224 RGB).
        let resumed = try ZooCommandTests.run(["train", "--data-dir", root.path, "--model", "resnet18", "--resume", second, "--freeze", "backbone",
                                               "--epochs", "2", "--batch-size", "6", "--out", second])
        #expect(resumed.status == 0 && resumed.output.contains("3 classes, 32×32 grey, ImageNet normalisation"), "\(resumed.output)\(resumed.error)")
        #expect(resumed.output.contains("epoch 2/2") && !resumed.output.contains("epoch 1/2"), "\(resumed.output)")
        let eval = try ZooCommandTests.run(["eval", "--weights", second, "--data-dir", root.path])
        #expect(eval.status == 0 && eval.output.contains("(6 images)"), "\(eval.output)\(eval.error)")
        #expect(Self.lastAccuracy("test", in: eval.output) == Self.lastAccuracy("test", in: resumed.output), "\(eval.output)\(resumed.output)")
    }

    @Test func foldersThatCannotBeTrainedOnAreNamed() throws {
        let root = try DataFixtures.temporaryFolder("image-folder-errors")
        defer { try? FileManager.default.removeItem(at: root) }
        let manager = FileManager.default
        func train(_ folder: URL, _ extra: [String] = []) throws -> (status: Int32, output: String, error: String) {
            try ZooCommandTests.run(["train", "--dataset", "folder", "--data-dir", folder.path, "--model", "cnn", "--epochs", "1",
                                     "--out", root.appendingPathComponent("never.safetensors").path] + extra)
        }
        func expectFailure(_ result: (status: Int32, output: String, error: String), _ parts: [String]) {
            #expect(result.status != 0)
            for part in parts { #expect(result.error.contains(part), "\(part) not in: \(result.error)") }
        }
        let empty = root.appendingPathComponent("empty")
        try manager.createDirectory(at: empty, withIntermediateDirectories: true)
        expectFailure(try train(empty), [empty.path, "no class sub-folders"])

        let one = root.appendingPathComponent("one")
        try Self.writeFolder(one, perClass: 3)
        for name in ["green", "red"] { try manager.removeItem(at: one.appendingPathComponent(name)) }
        expectFailure(try train(one), [one.path, "only one class folder (blue)"])

        let noImages = root.appendingPathComponent("no-images")
        for name in Self.classes {
            try manager.createDirectory(at: noImages.appendingPathComponent(name), withIntermediateDirectories: true)
            try Data("notes".utf8).write(to: noImages.appendingPathComponent("\(name)/readme.txt"))
        }
        expectFailure(try train(noImages), [noImages.path, "no PNG or JPEG images in the class folders blue, green, red"])

        let emptyClass = root.appendingPathComponent("empty-class")
        try Self.writeFolder(emptyClass, perClass: 3)
        try manager.createDirectory(at: emptyClass.appendingPathComponent("yellow"), withIntermediateDirectories: true)
        expectFailure(try train(emptyClass), [emptyClass.path, "no usable PNG or JPEG image in the class folder yellow"])

        let broken = root.appendingPathComponent("broken")
        try Self.writeFolder(broken, perClass: 3)
        try Data("not a png".utf8).write(to: broken.appendingPathComponent("green/broken.png"))
        expectFailure(try train(broken), [broken.appendingPathComponent("green/broken.png").path, "not a decodable PNG or JPEG"])

        let good = root.appendingPathComponent("good")
        try Self.writeFolder(good, perClass: 3)
        expectFailure(try train(good, ["--input-size", "32"]), ["--input-size 32", "cnn takes 28×28 images only"])
        expectFailure(try train(good, ["--val-fraction", "1.5"]), ["--val-fraction"])
        expectFailure(try train(good, ["--classes", "0-1"]), ["--classes and --per-class apply to fashion-mnist and mnist"])
    }

    /// The library path: channels detected, and a per-class split that is deterministic, disjoint,
    /// complete, and independent of anything but the seed.
    @Test func heldOutSplitIsPerClassAndSeeded() throws {
        let root = try DataFixtures.temporaryFolder("image-folder-split")
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.writeFolder(root.appendingPathComponent("grey"), perClass: 10, size: 8, grey: true)
        try Self.writeFolder(root.appendingPathComponent("colour"), perClass: 1, size: 8)
        let grey = try ImageFolderDataset(root: root.appendingPathComponent("grey"), channels: nil, crop: 8)
        #expect(grey.channels == .grey && grey.exampleShape == [1, 8, 8])
        #expect(try ImageFolderDataset(root: root.appendingPathComponent("colour"), channels: nil, crop: 8).channels == .rgb)

        let (train, heldOut) = try grey.split(heldOutFraction: 0.3, seed: 7)
        #expect(train.count == 21 && heldOut.count == 9)
        for label in 0..<3 { #expect(heldOut.files.filter { $0.label == label }.count == 3) }
        let trainPaths = Set(train.files.map(\.url.path)), heldOutPaths = Set(heldOut.files.map(\.url.path))
        #expect(trainPaths.isDisjoint(with: heldOutPaths) && trainPaths.union(heldOutPaths) == Set(grey.files.map(\.url.path)))
        #expect(try grey.split(heldOutFraction: 0.3, seed: 7).heldOut.files.map(\.url) == heldOut.files.map(\.url))
        #expect(try grey.split(heldOutFraction: 0.3, seed: 8).heldOut.files.map(\.url) != heldOut.files.map(\.url))
        // One image per class: nothing can be held out.
        let single = try ImageFolderDataset(root: root.appendingPathComponent("colour"), crop: 8).split(heldOutFraction: 0.5, seed: 0)
        #expect(single.train.count == 3 && single.heldOut.count == 0)
        #expect(throws: FoveaError.self) { try grey.normalized(mean: [0.5, 0.5, 0.5], standardDeviation: [1, 1, 1]) }
    }
}
