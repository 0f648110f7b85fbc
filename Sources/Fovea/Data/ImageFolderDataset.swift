import Foundation

/// Images in one sub-folder per class (torchvision's `ImageFolder`): `root/cat/1.png`,
/// `root/dog/2.jpg`, …; classes are the sub-folder names in sorted order, labels their indices.
/// Each image is decoded (PNG or JPEG), converted to grey or RGB, scaled to `[0, 1]`, resized so
/// its shorter side is `resize`, centre-cropped to `crop × crop`, and normalised per channel.
public struct ImageFolderDataset: ImageDataset {
    /// What to do with a file that is not a decodable image.
    public enum BadFilePolicy: Sendable {
        /// Throw an error naming the file.
        case fail
        /// Leave it out and list it in `skipped`.
        case skip
    }

    public let root: URL
    public let classNames: [String]
    /// The usable files and their labels.
    public let files: [(url: URL, label: Int)]
    /// Files left out under `.skip`, with the reason.
    public let skipped: [(url: URL, reason: String)]
    public let channels: Image.Channels
    public let resize: Int?
    public let crop: Int
    public let mean: [Float]
    public let standardDeviation: [Float]

    public static let extensions: Set<String> = ["png", "jpg", "jpeg"]

    /// Scans `root`. Every candidate file is decoded once here, so bad files are found up front.
    /// `channels` nil reads grey when every image is grey (grey or grey+alpha files), else RGB.
    /// - Throws: `.invalidArgument` for a crop or resize < 1, or a mean or standard deviation list
    ///   that does not have one finite value (deviations > 0) per channel; `.io` if `root` has no
    ///   class folders, a class folder has no usable image, or there are no images at all (each
    ///   naming the folder); `.corruptFile` naming the first bad file under `.fail`.
    public init(root: URL, channels: Image.Channels? = .rgb, resize: Int? = nil, crop: Int,
                mean: [Float]? = nil, standardDeviation: [Float]? = nil, badFiles: BadFilePolicy = .fail) throws {
        let check = ArgumentCheck("ImageFolderDataset")
        try check.atLeast(1, crop, "crop")
        if let resize { try check.atLeast(1, resize, "resize") }
        try Self.checkNormalisation(mean: mean, standardDeviation: standardDeviation, channels: channels)
        let manager = FileManager.default
        let folders: [String]
        do {
            folders = try manager.contentsOfDirectory(atPath: root.path).filter {
                var isFolder: ObjCBool = false
                return manager.fileExists(atPath: root.appendingPathComponent($0).path, isDirectory: &isFolder) && isFolder.boolValue && !$0.hasPrefix(".")
            }.sorted()
        } catch {
            throw FoveaError(.io, "\(root.path): cannot list the folder: \(error.localizedDescription)")
        }
        guard !folders.isEmpty else { throw FoveaError(.io, "\(root.path): no class sub-folders (expected root/<class>/<image>.png)") }
        var files: [(URL, Int)] = [], skipped: [(URL, String)] = [], allGrey = true
        for (label, folder) in folders.enumerated() {
            let classURL = root.appendingPathComponent(folder)
            let names = (try? manager.contentsOfDirectory(atPath: classURL.path)) ?? []
            for name in names.sorted() where Self.extensions.contains((name as NSString).pathExtension.lowercased()) {
                let url = classURL.appendingPathComponent(name)
                do {
                    let image = try Image.read(from: url, channels: channels)
                    allGrey = allGrey && image.channels == 1
                    files.append((url, label))
                } catch let error as FoveaError {
                    if badFiles == .fail { throw error }
                    skipped.append((url, error.message))
                }
            }
        }
        guard !files.isEmpty else {
            throw FoveaError(.io, "\(root.path): no PNG or JPEG images in the class folders \(folders.joined(separator: ", "))")
        }
        let used = Set(files.map(\.1))
        let empty = folders.indices.filter { !used.contains($0) }.map { folders[$0] }
        guard empty.isEmpty else {
            throw FoveaError(.io, "\(root.path): no usable PNG or JPEG image in the class folder\(empty.count == 1 ? "" : "s") \(empty.joined(separator: ", "))")
        }
        let channels = channels ?? (allGrey ? .grey : .rgb)
        try Self.checkNormalisation(mean: mean, standardDeviation: standardDeviation, channels: channels)
        self.init(root: root, classNames: folders, files: files, skipped: skipped, channels: channels, resize: resize, crop: crop,
                  mean: mean ?? Array(repeating: 0, count: channels.rawValue),
                  standardDeviation: standardDeviation ?? Array(repeating: 1, count: channels.rawValue))
    }

    private init(root: URL, classNames: [String], files: [(url: URL, label: Int)], skipped: [(url: URL, reason: String)],
                 channels: Image.Channels, resize: Int?, crop: Int, mean: [Float], standardDeviation: [Float]) {
        self.root = root
        self.classNames = classNames
        self.files = files
        self.skipped = skipped
        self.channels = channels
        self.resize = resize
        self.crop = crop
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// Checks a per-channel normalisation: finite means, finite deviations > 0, and (once `channels`
    /// is known) one value per channel.
    static func checkNormalisation(mean: [Float]?, standardDeviation: [Float]?, channels: Image.Channels?) throws {
        let check = ArgumentCheck("ImageFolderDataset")
        let perChannel = channels.map { "\($0.rawValue) value\($0.rawValue == 1 ? "" : "s"), one per channel, " } ?? ""
        if let mean {
            try check.require(mean.count == (channels?.rawValue ?? mean.count) && mean.allSatisfy(\.isFinite),
                              "mean", mustBe: "\(perChannel)finite", got: mean)
        }
        if let standardDeviation {
            try check.require(standardDeviation.count == (channels?.rawValue ?? standardDeviation.count) && standardDeviation.allSatisfy { $0 > 0 && $0.isFinite },
                              "standardDeviation", mustBe: "\(perChannel)finite and > 0", got: standardDeviation)
        }
    }

    /// The same files with another per-channel normalisation (e.g. once `channels` is known).
    /// - Throws: `.invalidArgument` unless there is one finite value (deviations > 0) per channel.
    public func normalized(mean: [Float], standardDeviation: [Float]) throws -> ImageFolderDataset {
        try Self.checkNormalisation(mean: mean, standardDeviation: standardDeviation, channels: channels)
        return ImageFolderDataset(root: root, classNames: classNames, files: files, skipped: skipped, channels: channels,
                                  resize: resize, crop: crop, mean: mean, standardDeviation: standardDeviation)
    }

    /// The files at `indices` (same classes, transform and `skipped` list), e.g. a held-out split.
    public func subset(_ indices: [Int]) -> ImageFolderDataset {
        ImageFolderDataset(root: root, classNames: classNames, files: indices.map { files[$0] }, skipped: skipped, channels: channels,
                           resize: resize, crop: crop, mean: mean, standardDeviation: standardDeviation)
    }

    public var count: Int { files.count }
    public var exampleShape: Shape { [channels.rawValue, crop, crop] }

    public func example(at index: Int) throws -> (image: Tensor, label: Int) {
        let (url, label) = files[index]
        return (try Self.prepare(Image.read(from: url, channels: channels), resize: resize, crop: crop, mean: mean, standardDeviation: standardDeviation), label)
    }

    /// The evaluation transform: `[0, 1]` scaling, shorter side to `resize`, centre crop, normalisation.
    public static func prepare(_ image: Image, resize: Int?, crop: Int, mean: [Float], standardDeviation: [Float]) -> Tensor {
        var pixels = image.scaledToUnit().pixels
        if let resize { pixels = ImageTransforms.resizeShorterSide(pixels, to: resize) }
        if pixels.shape[1] != crop || pixels.shape[2] != crop {
            if pixels.shape[1] < crop || pixels.shape[2] < crop {
                pixels = ImageTransforms.resizeShorterSide(pixels, to: crop)
            }
            pixels = ImageTransforms.centerCrop(pixels, height: crop, width: crop)
        }
        return ImageTransforms.normalize(pixels, mean: mean, standardDeviation: standardDeviation)
    }
}
