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
    /// Expects `body` to throw an invalid-argument error whose message contains every fragment.
    private func expectError(_ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("no error thrown", sourceLocation: sourceLocation)
        } catch let error as FoveaError {
            #expect(error.kind == .invalidArgument, "\(error)", sourceLocation: sourceLocation)
            for fragment in fragments {
                #expect(error.message.contains(fragment), "\(error.message) lacks \(fragment)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func sequentialChildNamesAreUnique() throws {
        expectError(["Sequential", "child names", "unique", "conv repeated"]) {
            _ = try Sequential(named: [("conv", Conv2D(1, 2, kernelSize: 1)), ("relu", ReLU()), ("conv", Conv2D(2, 2, kernelSize: 1))])
        }
        #expect(try Sequential(named: [("conv", Conv2D(1, 2, kernelSize: 1)), ("relu", ReLU())]).children.map(\.name) == ["conv", "relu"])
    }

    @Test func datasetInMemory() throws {
        let names = MNISTDataset.fashionClassNames
        expectError(["MNISTDataset", "labels", "one per image", "3 labels"]) {
            _ = try MNISTDataset(images: Tensor(zeros: [4, 1, 2, 2]), labels: [0, 1, 2], classNames: names)
        }
        expectError(["MNISTDataset", "images", "[N, C, H, W]", "got 4×4"]) {
            _ = try MNISTDataset(images: Tensor(zeros: [4, 4]), labels: [0, 1, 2, 3], classNames: names)
        }
        expectError(["MNISTDataset", "labels[1]", "0 to 9", "got 10"]) {
            _ = try MNISTDataset(images: Tensor(zeros: [2, 1, 2, 2]), labels: [0, 10], classNames: names)
        }
        #expect(try MNISTDataset(images: Tensor(zeros: [2, 1, 2, 2]), labels: [0, 9], classNames: names).count == 2)
    }

    @Test func imagePixels() throws {
        expectError(["Image", "pixels", "[1 or 3, H, W]", "got 2×4×4"]) { _ = try Image(pixels: Tensor(zeros: [2, 4, 4])) }
        expectError(["Image", "pixels", "[1 or 3, H, W]", "got 4×4"]) { _ = try Image(pixels: Tensor(zeros: [4, 4])) }
        #expect(try Image(pixels: Tensor(zeros: [3, 4, 5])).width == 5)
    }

    @Test func imageKernels() throws {
        expectError(["ImageKernel k", "weights", "2×2 = 4 values", "3 values"]) { _ = try ImageKernel(name: "k", rows: 2, columns: 2, weights: [1, 2, 3]) }
        expectError(["ImageKernel k", "rows", "≥ 1", "got 0"]) { _ = try ImageKernel(name: "k", rows: 0, columns: 2, weights: []) }
        expectError(["ImageKernel ragged", "rows", "all of one length", "[3, 2]"]) { _ = try ImageKernel(name: "ragged", [[1, 2, 3], [4, 5]]) }
        expectError(["ImageKernel none", "rows", "≥ 1", "got 0"]) { _ = try ImageKernel(name: "none", []) }
        #expect(try ImageKernel(name: "k", [[1, 2], [3, 4]], scale: 2).weights == [2, 4, 6, 8])
        #expect(ImageKernel.gaussianBlur5.rows == 5 && ImageKernel.sobelX.weights == [-1, 0, 1, -2, 0, 2, -1, 0, 1])
    }

    @Test func imageGrid() throws {
        expectError(["ImageGrid", "scale", "≥ 1", "got 0"]) { _ = try ImageGrid(scale: 0) }
        expectError(["ImageGrid", "gap", "≥ 0", "got -1"]) { _ = try ImageGrid(gap: -1) }
        expectError(["ImageGrid", "columns", "≥ 1", "got 0"]) { _ = try ImageGrid(columns: 0) }
        expectError(["ImageGrid", "labelScale", "≥ 1", "got 0"]) { _ = try ImageGrid(labelScale: 0) }
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
            expectError(["ImageFolderDataset.split", "heldOutFraction", "in (0, 1)"]) { _ = try data.split(heldOutFraction: fraction, seed: 0) }
        }
        let (train, heldOut) = try data.split(heldOutFraction: 0.4, seed: 0)
        #expect(train.count + heldOut.count == 6 && heldOut.count == 2)
    }

    @Test func checkTolerance() throws {
        expectError(["CheckTolerance", "relative", "finite and > 0", "got 0"]) { _ = try CheckTolerance(relative: 0) }
        expectError(["CheckTolerance", "absoluteFloor", "finite and > 0", "inf"]) { _ = try CheckTolerance(absoluteFloor: .infinity) }
        #expect(try CheckTolerance(relative: 1e-4).relative == 1e-4)
        #expect(CheckTolerance.default.relative == 1e-3)
    }
}
