import Foundation
import Fovea
import FoveaChecking
import Testing

/// Values a consumer builds from its own data — a model's child names, a dataset, an image, a
/// kernel, a grid, a split, a check tolerance — throw `FoveaError.invalidArgument` naming the type,
/// the argument and what it must be (each used to be a `precondition`, whose message a release
/// build drops).
@Suite("Library value argument errors")
struct LibraryValueArgumentTests {
    @Test func sequentialChildNamesAreUnique() throws {
        expectInvalidArgument(["Sequential", "child names", "unique", "conv repeated"]) {
            _ = try Sequential(named: [("conv", Conv2D(1, 2, kernelSize: 1)), ("relu", ReLU()), ("conv", Conv2D(2, 2, kernelSize: 1))])
        }
        #expect(try Sequential(named: [("conv", Conv2D(1, 2, kernelSize: 1)), ("relu", ReLU())]).children.map(\.name) == ["conv", "relu"])
    }

    @Test func datasetInMemory() throws {
        let names = MNISTDataset.fashionClassNames
        expectInvalidArgument(["MNISTDataset", "labels", "one per image", "3 labels"]) {
            _ = try MNISTDataset(images: Tensor(zeros: [4, 1, 2, 2]), labels: [0, 1, 2], classNames: names)
        }
        expectInvalidArgument(["MNISTDataset", "images", "[N, C, H, W]", "got 4×4"]) {
            _ = try MNISTDataset(images: Tensor(zeros: [4, 4]), labels: [0, 1, 2, 3], classNames: names)
        }
        expectInvalidArgument(["MNISTDataset", "labels[1]", "0 to 9", "got 10"]) {
            _ = try MNISTDataset(images: Tensor(zeros: [2, 1, 2, 2]), labels: [0, 10], classNames: names)
        }
        #expect(try MNISTDataset(images: Tensor(zeros: [2, 1, 2, 2]), labels: [0, 9], classNames: names).count == 2)
    }

    @Test func imagePixels() throws {
        expectInvalidArgument(["Image", "pixels", "[1 or 3, H, W]", "got 2×4×4"]) { _ = try Image(pixels: Tensor(zeros: [2, 4, 4])) }
        expectInvalidArgument(["Image", "pixels", "[1 or 3, H, W]", "got 4×4"]) { _ = try Image(pixels: Tensor(zeros: [4, 4])) }
        #expect(try Image(pixels: Tensor(zeros: [3, 4, 5])).width == 5)
    }

    @Test func imageKernels() throws {
        expectInvalidArgument(["ImageKernel k", "weights", "2×2 = 4 values", "3 values"]) { _ = try ImageKernel(name: "k", rows: 2, columns: 2, weights: [1, 2, 3]) }
        expectInvalidArgument(["ImageKernel k", "rows", "≥ 1", "got 0"]) { _ = try ImageKernel(name: "k", rows: 0, columns: 2, weights: []) }
        expectInvalidArgument(["ImageKernel ragged", "rows", "all of one length", "[3, 2]"]) { _ = try ImageKernel(name: "ragged", [[1, 2, 3], [4, 5]]) }
        expectInvalidArgument(["ImageKernel none", "rows", "≥ 1", "got 0"]) { _ = try ImageKernel(name: "none", []) }
        #expect(try ImageKernel(name: "k", [[1, 2], [3, 4]], scale: 2).weights == [2, 4, 6, 8])
        #expect(ImageKernel.gaussianBlur5.rows == 5 && ImageKernel.sobelX.weights == [-1, 0, 1, -2, 0, 2, -1, 0, 1])
    }

    @Test func imageGrid() throws {
        expectInvalidArgument(["ImageGrid", "scale", "≥ 1", "got 0"]) { _ = try ImageGrid(scale: 0) }
        expectInvalidArgument(["ImageGrid", "gap", "≥ 0", "got -1"]) { _ = try ImageGrid(gap: -1) }
        expectInvalidArgument(["ImageGrid", "columns", "≥ 1", "got 0"]) { _ = try ImageGrid(columns: 0) }
        expectInvalidArgument(["ImageGrid", "labelScale", "≥ 1", "got 0"]) { _ = try ImageGrid(labelScale: 0) }
        #expect(try ImageGrid(columns: 3, scale: 2).columns == 3)
    }

    @Test func heldOutFraction() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fovea-split-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        for label in ["a", "b"] {
            let folder = root.appendingPathComponent(label)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for index in 0..<3 {
                try Image(pixels: Tensor(repeating: Float(40 * index), shape: [1, 4, 4])).writePNG(to: folder.appendingPathComponent("\(index).png"))
            }
        }
        let data = try ImageFolderDataset(root: root, channels: nil, crop: 4)
        for fraction in [0, 1, -0.5, .nan] {
            expectInvalidArgument(["ImageFolderDataset.split", "heldOutFraction", "in (0, 1)"]) { _ = try data.split(heldOutFraction: fraction, seed: 0) }
        }
        let (train, heldOut) = try data.split(heldOutFraction: 0.4, seed: 0)
        #expect(train.count + heldOut.count == 6 && heldOut.count == 2)
    }

    @Test func checkTolerance() throws {
        expectInvalidArgument(["CheckTolerance", "relative", "finite and > 0", "got 0"]) { _ = try CheckTolerance(relative: 0) }
        expectInvalidArgument(["CheckTolerance", "absoluteFloor", "finite and > 0", "inf"]) { _ = try CheckTolerance(absoluteFloor: .infinity) }
        #expect(try CheckTolerance(relative: 1e-4).relative == 1e-4)
        #expect(CheckTolerance.default.relative == 1e-3)
    }
}
