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
    /// - Throws: `.io` if `root` has no class folders; `.corruptFile` naming the first bad file
    ///   under `.fail`; `.invalidArgument` for a crop or resize < 1, or a mean or standard deviation
    ///   list that does not have one finite value (deviations > 0) per channel.
    public init(root: URL, channels: Image.Channels = .rgb, resize: Int? = nil, crop: Int,
                mean: [Float]? = nil, standardDeviation: [Float]? = nil, badFiles: BadFilePolicy = .fail) throws {
        let check = ArgumentCheck("ImageFolderDataset")
        try check.atLeast(1, crop, "crop")
        if let resize { try check.atLeast(1, resize, "resize") }
        let perChannel = "\(channels.rawValue) value\(channels.rawValue == 1 ? "" : "s"), one per channel"
        if let mean {
            try check.require(mean.count == channels.rawValue && mean.allSatisfy(\.isFinite), "mean", mustBe: "\(perChannel), finite", got: mean)
        }
        if let standardDeviation {
            try check.require(standardDeviation.count == channels.rawValue && standardDeviation.allSatisfy { $0 > 0 && $0.isFinite },
                              "standardDeviation", mustBe: "\(perChannel), finite and > 0", got: standardDeviation)
        }
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
        var files: [(URL, Int)] = [], skipped: [(URL, String)] = []
        for (label, folder) in folders.enumerated() {
            let classURL = root.appendingPathComponent(folder)
            let names = (try? manager.contentsOfDirectory(atPath: classURL.path)) ?? []
            for name in names.sorted() where Self.extensions.contains((name as NSString).pathExtension.lowercased()) {
                let url = classURL.appendingPathComponent(name)
                do {
                    _ = try Image.read(from: url, channels: channels)
                    files.append((url, label))
                } catch let error as FoveaError {
                    if badFiles == .fail { throw error }
                    skipped.append((url, error.message))
                }
            }
        }
        self.root = root
        classNames = folders
        self.files = files
        self.skipped = skipped
        self.channels = channels
        self.resize = resize
        self.crop = crop
        self.mean = mean ?? Array(repeating: 0, count: channels.rawValue)
        self.standardDeviation = standardDeviation ?? Array(repeating: 1, count: channels.rawValue)
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
