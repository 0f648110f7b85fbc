import ArgumentParser
import Fovea
import Foundation

/// `fovea train`'s options for an image folder (`--data-dir` with one sub-folder per class):
/// `--input-size`, `--grey`, `--normalize`, `--val-fraction`.
struct ImageFolderOptions: ParsableArguments {
    @Option(name: .customLong("input-size"),
            help: "Image folder: resize the shorter side to N and centre-crop N×N (default: 28 for cnn, cnn-bn, resnet-small; 224 for zoo models).")
    var inputSize: Int?

    @Flag(help: "Image folder: read the images as grey (default: grey when every image is grey, else RGB; with --from, the pretrained weights' channels).")
    var grey = false

    @Option(help: "Image folder: per-channel normalisation: auto (ImageNet's mean and std with --from torchvision weights, the stored one with --from a fovea checkpoint, else none), imagenet, none (pixels in [0, 1]).")
    var normalize: String = "auto"

    @Option(name: .customLong("val-fraction"),
            help: "Image folder without train/ and val/ (or test/) sub-folders: the fraction of each class held out for testing (seeded, default 0.2).")
    var valFraction: Double?

    /// The largest `--input-size` accepted (a 4096×4096 RGB batch of 64 is already 12 GiB).
    static let maximumInputSize = 4096

    func validate() throws {
        if let inputSize, !(1...Self.maximumInputSize).contains(inputSize) {
            throw ValidationError("--input-size must be from 1 to \(Self.maximumInputSize), got \(inputSize)")
        }
        guard ["auto", "imagenet", "none"].contains(normalize) else {
            throw ValidationError("--normalize must be auto, imagenet or none, got '\(normalize)'")
        }
        if let valFraction, !(valFraction > 0 && valFraction < 1) {
            throw ValidationError("--val-fraction must be between 0 and 1 (exclusive), got \(valFraction)")
        }
    }
}
