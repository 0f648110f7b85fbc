import Foundation

/// MNIST-format image classification data (MNIST, Fashion-MNIST): 28×28 grey images and labels
/// from a pair of IDX files. Images become `[N, 1, 28, 28]` Float32 tensors scaled to `[0, 1]`
/// (byte / 255).
public struct MNISTDataset: Sendable {
    public enum Split: String, Sendable { case train, test }

    /// The images, `[N, 1, H, W]` in `[0, 1]`.
    public var images: Tensor
    /// One label per image.
    public var labels: [Int]
    public var classNames: [String]

    public var count: Int { labels.count }

    /// A dataset from tensors already in memory: `images` `[N, C, H, W]`, one label per image,
    /// each label in `0..<classNames.count`.
    /// - Throws: `.invalidArgument` naming both counts or shapes, or the first bad label.
    public init(images: Tensor, labels: [Int], classNames: [String]) throws {
        let check = ArgumentCheck("MNISTDataset")
        try check.require(images.shape.rank == 4, "images", mustBe: "[N, C, H, W]", got: images.shape)
        try check.require(images.shape[0] == labels.count, "labels", mustBe: "one per image (\(images.shape[0]) for images of shape \(images.shape))", got: "\(labels.count) labels")
        if let bad = labels.firstIndex(where: { !(0..<classNames.count).contains($0) }) {
            try check.require(false, "labels[\(bad)]", mustBe: "a class index from 0 to \(classNames.count - 1) (\(classNames.count) class names)", got: labels[bad])
        }
        self.init(checkedImages: images, labels: labels, classNames: classNames)
    }

    /// Images and labels already known to match (decoded files, subsets).
    init(checkedImages images: Tensor, labels: [Int], classNames: [String]) {
        self.images = images
        self.labels = labels
        self.classNames = classNames
    }

    /// Fashion-MNIST's class names, in label order.
    public static let fashionClassNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// Where Debian's `dataset-fashion-mnist` puts the files.
    public static let debianFashionFolder = "/usr/share/datasets/fashion-mnist"

    /// The folder to read from: `FOVEA_FASHION_MNIST` if set, else Debian's.
    public static func defaultFolder(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        URL(fileURLWithPath: FoveaEnvironment.fashionMNIST.text(in: environment) ?? debianFashionFolder)
    }

    /// Loads `train-images-idx3-ubyte[.gz]` and `train-labels-idx1-ubyte[.gz]` (or `t10k-…` for the
    /// test split) from `folder`.
    /// - Parameter limit: read at most this many examples (the first ones).
    /// - Throws: `FoveaError` naming the file: missing, corrupt, not 3-D images or 1-D labels, labels
    ///   above 9, or image and label counts that disagree.
    public static func load(folder: URL, split: Split, limit: Int? = nil, classNames: [String] = fashionClassNames) throws -> MNISTDataset {
        let prefix = split == .train ? "train" : "t10k"
        let imageURL = try locate(folder, "\(prefix)-images-idx3-ubyte")
        let labelURL = try locate(folder, "\(prefix)-labels-idx1-ubyte")
        let imageFile = try IDXFile.read(from: imageURL)
        let labelFile = try IDXFile.read(from: labelURL)
        guard imageFile.dimensions.count == 3 else {
            throw FoveaError(.corruptFile, "\(imageURL.path): images must be 3-D [N, H, W], got dimensions \(imageFile.dimensions)")
        }
        guard labelFile.dimensions.count == 1 else {
            throw FoveaError(.corruptFile, "\(labelURL.path): labels must be 1-D [N], got dimensions \(labelFile.dimensions)")
        }
        guard imageFile.dimensions[0] == labelFile.dimensions[0] else {
            throw FoveaError(.corruptFile, "\(imageURL.lastPathComponent) has \(imageFile.dimensions[0]) images but \(labelURL.lastPathComponent) has \(labelFile.dimensions[0]) labels (in \(folder.path))")
        }
        if let bad = labelFile.bytes.first(where: { Int($0) >= classNames.count }) {
            throw FoveaError(.corruptFile, "\(labelURL.path): label \(bad) is outside 0..<\(classNames.count)")
        }
        let n = min(imageFile.dimensions[0], limit ?? Int.max)
        let (h, w) = (imageFile.dimensions[1], imageFile.dimensions[2])
        var images = Tensor(zeros: [n, 1, h, w])
        images.withUnsafeMutableBufferPointer { pixels in
            for i in 0..<(n * h * w) { pixels[i] = Float(imageFile.bytes[i]) / 255 }
        }
        return MNISTDataset(checkedImages: images, labels: labelFile.bytes.prefix(n).map(Int.init), classNames: classNames)
    }

    private static func locate(_ folder: URL, _ stem: String) throws -> URL {
        for name in [stem + ".gz", stem] {
            let url = folder.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path) { return url }
        }
        throw FoveaError(.io, "\(folder.path): neither \(stem).gz nor \(stem) exists; install Debian's dataset-fashion-mnist or set FOVEA_FASHION_MNIST")
    }
}
