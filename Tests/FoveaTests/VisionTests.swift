import Foundation
import Fovea
import FoveaTestSupport
import Testing

@Suite("Vision: kernels, filter arithmetic, grids, captured activations")
struct VisionTests {
    // MARK: Kernels

    @Test func userKernelsParseFromTheCommandLineAndFiles() throws {
        let sobel = try ImageKernel.parse("1,0,-1;2,0,-2;1,0,-1", source: "--kernel")
        #expect(sobel.rows == 3 && sobel.columns == 3 && sobel.weights == [1, 0, -1, 2, 0, -2, 1, 0, -1])
        let folder = try DataFixtures.temporaryFolder("kernel")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("ridge.txt")
        try "# a 2×4 kernel\n0.5  1, -1 −2\n\n3,4 5 6   # last row\n".write(to: file, atomically: true, encoding: .utf8)
        let ridge = try ImageKernel.read(from: file)
        #expect(ridge.name == "ridge" && ridge.rows == 2 && ridge.columns == 4 && ridge.weights == [0.5, 1, -1, -2, 3, 4, 5, 6])
    }

    @Test func badKernelsAreErrorsNamingTheSourceAndRow() throws {
        let folder = try DataFixtures.temporaryFolder("badkernel")
        defer { try? FileManager.default.removeItem(at: folder) }
        let ragged = folder.appendingPathComponent("ragged.txt")
        try "1 2 3\n4 5 6\n7 8\n".write(to: ragged, atomically: true, encoding: .utf8)
        expectError(.invalidArgument, containing: ["ragged.txt", "row 3", "2 numbers", "row 1 has 3"]) { try ImageKernel.read(from: ragged) }
        expectError(.invalidArgument, containing: ["--kernel", "row 2", "'x'"]) { try ImageKernel.parse("1,2;3,x", source: "--kernel") }
        expectError(.invalidArgument, containing: ["empty.txt", "empty kernel"]) { try ImageKernel.parse("\n # nothing\n", source: "empty.txt") }
        expectError(.io, containing: ["missing.txt"]) { try ImageKernel.read(from: folder.appendingPathComponent("missing.txt")) }
        expectError(.invalidArgument, containing: ["unknown kernel 'blurry'", "sharpen", "sobel-x"]) { try ImageKernel.named("blurry") }
        expectError(.invalidArgument, containing: ["gaussian:SIZE:SIGMA"]) { try ImageKernel.named("gaussian:5:wide") }
    }

    @Test func classicKernelsHaveTheirMatricesAndSums() throws {
        #expect(ImageKernel.sharpen.weights == [0, -1, 0, -1, 5, -1, 0, -1, 0])
        #expect(ImageKernel.outline.weights == [-1, -1, -1, -1, 8, -1, -1, -1, -1])
        #expect(ImageKernel.boxBlur.description == "1/9·[1 1 1; 1 1 1; 1 1 1]")
        #expect(ImageKernel.gaussianBlur.description == "1/16·[1 2 1; 2 4 2; 1 2 1]")
        #expect(ImageKernel.sobelX.description == "[−1 0 1; −2 0 2; −1 0 1]")
        for kernel in ImageKernel.classics {
            let sum = kernel.sum
            #expect(abs(sum) < 1e-6 || abs(sum - 1) < 1e-6, "\(kernel.name): weights sum to \(sum)")
            #expect(try ImageKernel.named(kernel.name) == kernel)
        }
        let gaussian = try ImageKernel.named("gaussian:7:1.5")
        #expect(gaussian.rows == 7 && abs(gaussian.sum - 1) < 1e-5)
        #expect(gaussian[0, 1] == gaussian[1, 0] && gaussian[3, 3] == gaussian.weights.max())
    }

    // MARK: The filter's arithmetic

    /// For every stride, padding and dilation of a grid, the produced size is the formula's, and
    /// the reported arithmetic spells it out.
    @Test func outputSizesFollowTheFormula() throws {
        let device = TestDevices.naive
        let image = Tensor.randomUniform([3, 13, 11], in: 0...255, seed: 3)
        let kernel = try ImageKernel.parse("1 2 3; 4 5 6; 7 8 9; 1 1 1; 2 2 2", source: "5×3")
        for stride in 1...3 {
            for dilation in 1...2 {
                for padding in [FilterPadding.valid, .explicit(1), .explicit(3), .same] {
                    let filter = ImageFilter(kernel: kernel, stride: Size2D(stride), padding: padding, dilation: Size2D(dilation))
                    let (ph, pw): (Int, Int) = switch padding {
                    case .valid: (0, 0)
                    case .explicit(let p): (p.height, p.width)
                    case .same: (dilation * 2, dilation * 1)
                    }
                    let p = (13 + 2 * ph - dilation * (5 - 1) - 1) / stride + 1
                    let q = (11 + 2 * pw - dilation * (3 - 1) - 1) / stride + 1
                    let context = "stride \(stride), dilation \(dilation), padding \(padding)"
                    let result = try filter.apply(to: image, device: device)
                    #expect(result.values.shape == [3, p, q], "\(context)")
                    #expect(result.convolution.height.explanation == "(13 + 2·\(ph) − \(dilation)·(5−1) − 1)/\(stride) + 1 = \(p)", "\(context)")
                    #expect(result.convolution.width.explanation == "(11 + 2·\(pw) − \(dilation)·(3−1) − 1)/\(stride) + 1 = \(q)", "\(context)")
                    if padding == .same {
                        #expect(p == (13 + stride - 1) / stride && q == (11 + stride - 1) / stride, "same: ⌈input/stride⌉, \(context)")
                    }
                    if p >= 2 && q >= 2 {
                        let pooled = try ImageFilter(kernel: kernel, stride: Size2D(stride), padding: padding, dilation: Size2D(dilation),
                                                     pooling: FilterPooling(.max, size: 2)).apply(to: image, device: device)
                        #expect(pooled.values.shape == [3, (p - 2) / 2 + 1, (q - 2) / 2 + 1], "pooled, \(context)")
                        #expect(pooled.pooling?.height.explanation == "(\(p) + 2·0 − 1·(2−1) − 1)/2 + 1 = \((p - 2) / 2 + 1)")
                    }
                }
            }
        }
    }

    @Test func evenKernelsWithSameAndOversizedKernelsAreErrors() throws {
        let image = Tensor(zeros: [1, 4, 4])
        let even = try ImageKernel.parse("1 1; 1 1", source: "even")
        expectError(.invalidArgument, containing: ["photo.png: kernel even", "odd kernel", "2×2"]) {
            try ImageFilter(kernel: even, padding: .same).apply(to: image, device: TestDevices.naive, name: "photo.png: kernel even")
        }
        #expect(try ImageFilter(kernel: even, padding: .valid).apply(to: image, device: TestDevices.naive).values.shape == [1, 3, 3])
        let big = try ImageKernel.named("gaussian:7:2")
        expectError(.shapeMismatch, containing: ["tiny.png", "kernel height 7", "padded input height 6", "(4 + 2·1 − 1·(7−1) − 1)/1 + 1 = no output"]) {
            try ImageFilter(kernel: big, padding: .explicit(1)).apply(to: image, device: TestDevices.naive, name: "tiny.png: kernel gaussian")
        }
        expectError(.shapeMismatch, containing: ["max pool 4", "larger than the padded input"]) {
            try ImageFilter(kernel: .sharpen, stride: 2, pooling: FilterPooling(.max, size: 4)).apply(to: image, device: TestDevices.naive)
        }
        expectError(.invalidArgument, containing: ["--padding", "'half'"]) { try FilterPadding(parsing: "half") }
    }

    @Test func missingFilesAndNonImagesAreNamedErrors() throws {
        let folder = try DataFixtures.temporaryFolder("filterinput")
        defer { try? FileManager.default.removeItem(at: folder) }
        expectError(.io, containing: ["nowhere.png"]) { try Image.read(from: folder.appendingPathComponent("nowhere.png"), channels: nil) }
        let text = folder.appendingPathComponent("kernel.png")
        try "0 1 0\n1 -4 1\n0 1 0\n".write(to: text, atomically: true, encoding: .utf8)
        expectError(.corruptFile, containing: ["kernel.png", "not a decodable"]) { try Image.read(from: text, channels: nil) }
    }

    // MARK: Mapping and PNG

    @Test func mappingsFollowTheirFormulas() throws {
        let values = Tensor(shape: [1, 1, 4], scalars: [-51, 0, 102, 300])
        #expect(PixelMapping.clamp.apply(to: values).scalars == [0, 0, 102, 255])
        #expect(PixelMapping.abs.apply(to: values).scalars == values.scalars.map { 255 * abs($0) / 300 })
        #expect(PixelMapping.rescale.apply(to: values).scalars == values.scalars.map { 255 * ($0 + 51) / 351 })
        #expect(PixelMapping.rescale.apply(to: Tensor(repeating: 7, shape: [1, 2, 2])).scalars == [0, 0, 0, 0])
        #expect(PixelMapping.abs.apply(to: Tensor(zeros: [1, 2, 2])).scalars == [0, 0, 0, 0])
        #expect(PixelMapping.automatic(for: .sharpen) == .clamp && PixelMapping.automatic(for: .laplacian) == .abs)
        #expect(PixelMapping.automatic(for: try ImageKernel(name: "sum 16", [[1, 2, 1], [2, 4, 2], [1, 2, 1]])) == .rescale)
    }

    /// Filtered grey and RGB pictures survive PNG writing and reading (with the file's own channels)
    /// as the rounded mapped values.
    @Test func mappedPicturesRoundTripThroughPNG() throws {
        let folder = try DataFixtures.temporaryFolder("mapped")
        defer { try? FileManager.default.removeItem(at: folder) }
        for channels in [1, 3] {
            let photo = Tensor.randomUniform([channels, 9, 7], in: 0...255, seed: UInt64(channels))
            for kernel in [ImageKernel.sharpen, .sobelY, .boxBlur] {
                let image = try ImageFilter(kernel: kernel).apply(to: photo, device: TestDevices.naive).image(mapping: .automatic(for: kernel))
                let url = folder.appendingPathComponent("\(kernel.name)-\(channels).png")
                try image.writePNG(to: url)
                let back = try Image.read(from: url, channels: nil)
                #expect(back.pixels.shape == [channels, 9, 7], "\(kernel.name), \(channels) channels")
                #expect(back.pixels.scalars == image.pixels.scalars.map { min(max($0.rounded(), 0), 255) }, "\(kernel.name), \(channels) channels")
            }
        }
    }

    // MARK: Grids

    @Test func gridHasTheExpectedTilesAndSize() throws {
        // Tile i holds i + (column mod 2): after per-tile normalisation, columns alternate 0 and 255.
        let tiles = (0..<10).map { i in Tensor(shape: [1, 5, 7], scalars: (0..<35).map { Float(i + ($0 % 7) % 2) }) }
        let grid = try ImageGrid(columns: 4, gap: 2, scale: 3, labelled: false, background: 128)
        let layout = grid.layout(tileCount: tiles.count, tileHeight: 5, tileWidth: 7)
        #expect(layout.rows == 3 && layout.columns == 4)
        #expect(layout.tileHeight == 15 && layout.tileWidth == 21)
        #expect(layout.width == 94 && layout.height == 53, "4·21 + 5·2 by 3·15 + 4·2")
        let image = try grid.render(tiles)
        #expect(image.pixels.shape == [1, layout.height, layout.width])
        // Each tile, normalised on its own, alternates 0 and 255 (nearest-neighbour ×3); empty slots are background.
        var drawn = 0
        for slot in 0..<(layout.rows * layout.columns) {
            let (top, left) = layout.origin(ofTile: slot)
            let corner = image.pixels[0, top, left], next = image.pixels[0, top, left + 3], inside = image.pixels[0, top + 2, left + 2]
            if corner == 0 && next == 255 && inside == 0 { drawn += 1 } else { #expect(corner == 128 && next == 128, "slot \(slot)") }
            #expect(image.pixels[0, top - 1, left] == 128 && image.pixels[0, top, left - 1] == 128, "the gap before slot \(slot)")
        }
        #expect(drawn == 10)
        // Default columns ⌈√n⌉, RGB tiles stay RGB, labels drawn in the corner.
        let labelled = try ImageGrid(scale: 4).render((0..<12).map { Tensor.randomUniform([3, 8, 8], seed: UInt64($0)) })
        let layout12 = try ImageGrid(scale: 4).layout(tileCount: 12, tileHeight: 8, tileWidth: 8)
        #expect(layout12.columns == 4 && layout12.rows == 3 && labelled.pixels.shape == [3, layout12.height, layout12.width])
        let (top, left) = layout12.origin(ofTile: 11)   // "11": box at (top, left), glyph rows from +1
        #expect(labelled.pixels[0, top, left] == 0 && labelled.pixels[1, top + 1, left + 2] == 255 && labelled.pixels[2, top + 1, left + 1] == 0)
    }

    @Test func featureMapsBecomeTiles() throws {
        let activation = Tensor.randomNormal([1, 6, 4, 5], seed: 1)
        let tiles = try FeatureMaps.channelTiles(activation, layer: "relu1")
        #expect(tiles.count == 6 && tiles[5].shape == [1, 4, 5] && tiles[5][0, 3, 4] == activation[0, 5, 3, 4])
        expectError(.shapeMismatch, containing: ["fc1", "[1, C, H, W]"]) { try FeatureMaps.channelTiles(Tensor(zeros: [1, 1024]), layer: "fc1") }
        let rgb = try FeatureMaps.filterTiles(Tensor.randomNormal([4, 3, 5, 5], seed: 2), layer: "conv1")
        #expect(rgb.tiles.count == 4 && rgb.tiles[0].shape == [3, 5, 5] && rgb.columns == nil)
        let grey = try FeatureMaps.filterTiles(Tensor.randomNormal([4, 1, 5, 5], seed: 2), layer: "conv1")
        #expect(grey.tiles.count == 4 && grey.tiles[0].shape == [1, 5, 5])
        let weight = Tensor.randomNormal([4, 2, 3, 3], seed: 2)
        let many = try FeatureMaps.filterTiles(weight, layer: "conv2")
        #expect(many.tiles.count == 8 && many.columns == 2 && many.tiles[3][0, 2, 1] == weight[1, 1, 2, 1])
    }

    // MARK: Capturing a layer's output

    @Test func forwardUpToALayerRunsThePrefix() throws {
        let device = TestDevices.naive
        let model = try SmallModels.make("cnn-bn", seed: 5)
        model.eval()
        let input = Tensor.randomUniform([1, 1, 28, 28], seed: 6)
        var expected = input
        for name in ["conv1", "bn1", "relu1"] { expected = try model.layer(at: name)!.forward(expected, device: device) }
        expectIdentical(try model.forward(input, device: device, upTo: "relu1"), expected, "relu1")
        // Capture runs the prefix layer by layer; the full forward folds bn1 into conv1 (LayerFusion),
        // which only changes rounding.
        let full = try model.forward(input, device: device)
        expectIdentical(try model.forward(input, device: device, upTo: "fc2"), try LayerFusion.withoutFusion { try model.forward(input, device: device) }, "the last layer")
        expectClose(try model.forward(input, device: device, upTo: "fc2"), full, absolute: 1e-5, relative: 1e-4, "the last layer, fused")
        expectError(.invalidArgument, containing: ["no layer 'conv9'", "conv1, bn1, relu1, pool1"]) { try model.forward(input, device: device, upTo: "conv9") }

        let resnet = try SmallModels.make("resnet-small", seed: 5)
        resnet.eval()
        #expect(resnet.capturableLayers.map(\.name).contains("layer1.0") && !resnet.capturableLayers.map(\.name).contains("layer1.0.conv1"))
        var block = input
        for name in ["conv1", "bn1", "relu", "layer1.0"] { block = try resnet.layer(at: name)!.forward(block, device: device) }
        expectIdentical(try resnet.forward(input, device: device, upTo: "layer1.0"), block, "layer1.0")
        expectError(.invalidArgument, containing: ["'layer1.0.conv1' is inside 'layer1.0' (BasicBlock)", "layer1.1"]) {
            try resnet.forward(input, device: device, upTo: "layer1.0.conv1")
        }
    }

    // MARK: Helpers

    private func expectError(
        _ kind: FoveaError.Kind, containing parts: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Any
    ) {
        do {
            _ = try body()
            Issue.record("expected a \(kind) error mentioning \(parts)", sourceLocation: sourceLocation)
        } catch let error as FoveaError {
            #expect(error.kind == kind, "\(error.message)", sourceLocation: sourceLocation)
            for part in parts { #expect(error.message.contains(part), "'\(part)' missing from: \(error.message)", sourceLocation: sourceLocation) }
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }
}
