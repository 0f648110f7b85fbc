@testable import FoveaDispatch
import Fovea
import FoveaKernels
import FoveaTestSupport
import Testing

/// The Dispatch backend's convolution forward: B panels packed straight from the image, and the
/// per-layer work split.
@Suite("Dispatch direct convolution: fused packing and split")
struct DirectConvolutionTests {
    /// The fused packing writes exactly what im2col followed by the GEMM's B packing writes, for
    /// every kernel's panel width, on random geometries (padding at every border, strides,
    /// dilation, odd sizes) and on depth/column ranges that start and end mid-row and mid-tap.
    /// Both packers are checked: the Swift one (any panel width) and the C ones this CPU runs
    /// (AVX-512 for 32-column panels, AVX2 for 16: their stride-1, strided and gather paths,
    /// strides 1–4); each must be chosen (`vectorPacker`) where asked for.
    @Test(arguments: Self.packers)
    func packingEqualsIm2colThenPacking(packer: Packer) throws {
        let nr = packer.nr
        for c in PackingCase.random(seed: 909, maxChannels: 4, maxWidth: 40) {
            let (g, taps, positions) = (c.geometry, c.taps, c.positions)
            let panels = (positions.count + nr - 1) / nr * nr * taps.count
            var fused = [Float](repeating: .nan, count: panels)
            var reference = [Float](repeating: .nan, count: panels)
            var columns = [Float](repeating: .nan, count: g.columnRows * positions.count)
            c.input.withUnsafeBufferPointer { x in
                let packing = ConvolutionPacking(geometry: g, image: x.baseAddress!, nr: nr, vectorPanels: packer.vectorPanels)
                #expect((packing.vectorPacker != nil) == packer.vectorPanels, "\(packer) \(c)")
                packing.pack(rows: taps.lowerBound, depth: taps.count, columns: positions.lowerBound, count: positions.count, into: &fused)
                Im2col.pack(image: x.baseAddress!, geometry: g, channels: 0..<g.inputChannels, columns: positions, into: &columns)
            }
            PackedGEMM.packB(transposed: false, b: columns, ldb: positions.count, rows: taps.lowerBound, depth: taps.count,
                             columns: 0, count: positions.count, nr: nr, into: &reference)
            #expect(fused.elementsEqual(reference) { $0.bitPattern == $1.bitPattern }, "\(packer) \(c)")
        }
    }

    /// The C kernels the CPU runs (AVX-512, AVX2), for the vector im2col and col2im.
    static let nativeKernels = GEMMKernel.available.filter(\.isNative)

    /// The C im2col (AVX-512 or AVX2) the Dispatch backend's im2col paths use writes exactly what
    /// `Im2col.pack` writes, on random geometries (strides 1–4, padding, dilation, odd sizes) and
    /// channel/column ranges that start and end anywhere.
    @Test(.enabled(if: !Self.nativeKernels.isEmpty, "needs AVX-512 or AVX2"), arguments: Self.nativeKernels)
    func vectorIm2colEqualsIm2col(kernel: GEMMKernel) throws {
        let vectorIm2col = try #require(ConvolutionPacking.vectorIm2col(for: kernel))
        for c in PackingCase.random(seed: 4242, maxChannels: 5, maxWidth: 70) {
            let size = c.channels.count * c.geometry.kernelHeight * c.geometry.kernelWidth * c.positions.count
            var vector = [Float](repeating: .nan, count: size + 1)
            var reference = [Float](repeating: .nan, count: size + 1)
            c.input.withUnsafeBufferPointer { x in
                vectorIm2col(x.baseAddress!, c.geometry, c.channels, c.positions, &vector)
                Im2col.pack(image: x.baseAddress!, geometry: c.geometry, channels: c.channels, columns: c.positions, into: &reference)
            }
            #expect(vector.elementsEqual(reference) { $0.bitPattern == $1.bitPattern }, "\(kernel) \(c)")
        }
    }

    /// The C col2im (AVX-512 or AVX2) the Dispatch backend's backward-data uses adds exactly what
    /// `Im2col.accumulate` adds, in the same order (bit-identical images), on random geometries
    /// (strides 1–4, padding, dilation, odd sizes, overlapping windows) and ranges.
    @Test(.enabled(if: !Self.nativeKernels.isEmpty, "needs AVX-512 or AVX2"), arguments: Self.nativeKernels)
    func vectorCol2imEqualsAccumulate(kernel: GEMMKernel) throws {
        let vectorCol2im = try #require(ConvolutionPacking.vectorCol2im(for: kernel))
        var changed = 0
        for c in PackingCase.random(seed: 2424, maxChannels: 5, maxWidth: 70) {
            let g = c.geometry
            let columns = Tensor.randomNormal([c.channels.count * g.kernelHeight * g.kernelWidth * c.positions.count], seed: c.seed).scalars
            let start = c.input.scalars
            var vector = start, reference = start
            vectorCol2im(columns, g, c.channels, c.positions, &vector)
            Im2col.accumulate(columns: columns, geometry: g, channels: c.channels, columns: c.positions, into: &reference)
            #expect(vector.elementsEqual(reference) { $0.bitPattern == $1.bitPattern }, "\(kernel) \(c)")
            if !vector.elementsEqual(start) { changed += 1 }
        }
        #expect(changed > 100, "only \(changed) of 150 cases added anything (the rest only padding)")
    }

    /// The automatic choice between the direct GEMM and Winograd F(2×2) or F(4×4)
    /// (`ConvolutionCostModel`), on ImageNet layers where it was measured: F(4×4) for 28×28 and
    /// larger; F(2×2) for 13×13 and 14×14 (with the AVX2 kernel's gathering transforms, F(4×4)
    /// there only on layers with small filters, such as DenseNet's growth layers); direct for 7×7
    /// and 11×11 at batch 1 with the AVX-512 kernel, F(2×2) with the AVX2 one, each measured
    /// faster there; and the forward output is bit-identical to the path chosen.
    @Test func costModelPicksTheMeasuredPath() throws {
        let device = DispatchDevice(threads: 2, fallback: nil, winograd: .automatic)
        func geometry(_ c: Int, _ k: Int, _ size: Int, batch: Int, padding: Int = 1) throws -> Conv2DGeometry {
            try Conv2DGeometry(inputShape: [batch, c, size, size], weightShape: [k, c, 3, 3], options: Conv2DOptions(padding: Size2D(padding)))
        }
        func path(_ g: Conv2DGeometry) -> WinogradTileSize? { device.chosen(g, .forward).winogradTileSize }
        #expect(path(try geometry(256, 256, 56, batch: 1)) == .f4x4)
        #expect(path(try geometry(64, 64, 56, batch: 1)) == .f4x4)
        #expect(path(try geometry(128, 32, 56, batch: 8)) == .f4x4)
        // Their F(4×4) filters pass 8 MiB, so the AVX2 device prices them by tile rows as well.
        #expect(path(try geometry(384, 256, 13, batch: 1)) == .f2x2)
        #expect(path(try geometry(256, 256, 14, batch: 8)) == .f2x2)
        #expect(path(try geometry(512, 512, 14, batch: 1)) == .f2x2)
        // With AVX2, DenseNet's growth layer at 14×14 (F(4×4) filters of 0.6 MB): F(4×4), measured
        // 1.35–1.45× faster than F(2×2) on one Zen 3 thread.
        if !device.kernel.isAVX512 { #expect(path(try geometry(128, 32, 14, batch: 1)) == .f4x4) }
        // With AVX-512's 12×32 the direct GEMM wins at 7×7 and on the unpadded 13×13 layer at
        // batch 1; with AVX2's 6×16 (fewer padded rows and columns in the direct GEMM, but no C
        // transforms) F(2×2) still does: 512→512 @7 at batch 1 in 1.8–2.0 ms against 3.6–3.8 ms
        // direct and 4.95 in F(4×4), 384→384 @13 in 3.1 against 3.7–4.1 ms (one Zen 3 thread).
        let smallAtBatchOne: WinogradTileSize? = device.kernel.isAVX512 ? nil : .f2x2
        #expect(path(try geometry(512, 512, 7, batch: 1)) == smallAtBatchOne)
        #expect(path(try geometry(384, 384, 13, batch: 1, padding: 0)) == smallAtBatchOne)
        #expect(path(try geometry(3, 64, 224, batch: 1)) == nil)
        #expect(DispatchDevice(threads: 2, fallback: nil, winograd: .never).chosen(try geometry(256, 256, 56, batch: 1), .forward)
                == (device.kernel.isAVX512 ? .channelLanes : .direct))
        let f2x2Only = DispatchDevice(threads: 2, fallback: nil, winogradTileSize: .f2x2)
        #expect(f2x2Only.chosen(try geometry(256, 256, 56, batch: 1), .forward) == .winograd2)
        for (c, k, size, batch) in [(40, 36, 14, 2), (40, 36, 28, 2), (24, 20, 7, 1)] {
            let g = try geometry(c, k, size, batch: batch)
            let input = Tensor.randomNormal(g.inputShape, seed: 5)
            let weight = Tensor.randomNormal(g.weightShape, seed: 6)
            let output = device.conv2dForward(input: input, weight: weight, bias: nil, geometry: g)
            let expected = switch try device.dispatchPlan(for: g, pass: .forward).blocking {
            case .winograd(let plan): device.winograd.forward(input: input, weight: weight, bias: nil, geometry: g, plan: plan)
            // Outside Winograd, layers larger than 1×1 take the channel lanes on AVX-512.
            case .channelLanes(let blocking): device.channelLanes.forward(input: input, weight: weight, bias: nil, geometry: g, blocking: blocking)
            default: device.directConvolution.forward(input: input, weight: weight, bias: nil, geometry: g)
            }
            #expect(output.scalars.elementsEqual(expected.scalars) { $0.bitPattern == $1.bitPattern }, "\(g)")
        }
    }

    /// Backward-data by the same model (Winograd on the flipped convolution against im2col), and
    /// it agrees with naive where it takes F(2×2).
    @Test func backwardDataTakesWinogradWhereTheModelSays() throws {
        let device = DispatchDevice(threads: 2, fallback: nil)
        func geometry(_ c: Int, _ k: Int, _ size: Int, batch: Int) throws -> Conv2DGeometry {
            try Conv2DGeometry(inputShape: [batch, c, size, size], weightShape: [k, c, 3, 3], options: Conv2DOptions(padding: 1))
        }
        #expect(device.chosen(try geometry(256, 256, 14, batch: 8), .backwardData) == .winograd2)
        #expect(device.chosen(try geometry(256, 256, 56, batch: 8), .backwardData) == .winograd4)
        #expect(device.chosen(try Conv2DGeometry(inputShape: [1, 64, 56, 56], weightShape: [64, 64, 3, 3],
                                                 options: Conv2DOptions(stride: 2, padding: 1)), .backwardData) == .im2col)
        // Without Winograd, its 14-wide rows go to the channel lanes where they run, else to im2col.
        #expect(DispatchDevice(threads: 2, fallback: nil, winograd: .never).chosen(try geometry(256, 256, 14, batch: 8), .backwardData)
                == (ConvolutionPlannerTests.hasAVX512 ? .channelLanes : .im2col))
        // A layer small enough for naive that the model gives F(2×2).
        let candidates = try [geometry(24, 20, 14, batch: 8), geometry(64, 48, 13, batch: 4), geometry(96, 96, 14, batch: 2),
                              geometry(64, 64, 7, batch: 1), geometry(96, 96, 7, batch: 2)]
        let g = try #require(candidates.first { device.chosen($0, .backwardData) == .winograd2 })
        let gradOutput = Tensor.randomNormal(g.outputShape, seed: 11)
        let weight = Tensor.randomNormal(g.weightShape, seed: 12)
        expectClose(device.conv2dBackwardData(gradOutput: gradOutput, weight: weight, geometry: g),
                    TestDevices.naive.conv2dBackwardData(gradOutput: gradOutput, weight: weight, geometry: g),
                    absolute: 1e-4, relative: 1e-4, "F(2×2) backward-data of \(g)")
    }

    /// A batch gives the same bits as each image alone: with its images as the columns of one
    /// GEMM per group (small outputs; the packer follows the columns into the next image, for
    /// strides 1, 2 and 3), with the weights packed once per call, with groups, output channels
    /// that are not a multiple of MR, several depth blocks (C·R·S = 225 > KC of the tiny kernel),
    /// and with the default and the tiny blocking; and it agrees with naive.
    /// Images become columns only where an image's last panel would be mostly empty: 7×7 (49 of
    /// 64 columns) does, 14×14 with AVX-512's 32-column panels (196 of 224) but not with AVX2's 16
    /// (196 of 208), 28×28 (784 of 800) and 7×9 (63 of 64) do not, and they then write their
    /// output in place (no staging pass).
    @Test func imagesBecomeColumnsOnlyWherePanelsWouldBeEmpty() throws {
        let direct = DirectGEMMConvolution(threads: 2, kernel: .best)
        for (size, batched) in [((7, 7), true), ((14, 14), GEMMKernel.best.isAVX512), ((28, 28), false), ((7, 9), false)] {
            let g = try Conv2DGeometry(inputShape: [2, 8, size.0, size.1], weightShape: [16, 8, 1, 1], options: Conv2DOptions())
            #expect(direct.blocking(for: g).imagesAsColumns == (batched && GEMMKernel.best.isNative), "\(size)")
        }
    }

    @Test func batchGivesTheBitsOfEachImageAlone() throws {
        let geometries = [
            try Conv2DGeometry(inputShape: [3, 30, 9, 11], weightShape: [26, 15, 3, 5], options: Conv2DOptions(padding: 1, groups: 2)),
            try Conv2DGeometry(inputShape: [4, 6, 13, 15], weightShape: [20, 6, 3, 3], options: Conv2DOptions(stride: 2, padding: 1)),
            try Conv2DGeometry(inputShape: [2, 5, 15, 14], weightShape: [13, 5, 5, 4], options: Conv2DOptions(stride: 3, padding: 2)),
            try Conv2DGeometry(inputShape: [5, 16, 7, 7], weightShape: [40, 16, 1, 1], options: Conv2DOptions()),
        ]
        for g in geometries {
            let input = Tensor.randomNormal(g.inputShape, seed: 41)
            let weight = Tensor.randomNormal(g.weightShape, seed: 42)
            let bias = Tensor.randomNormal([g.outputChannels], seed: 43)
            let expected = TestDevices.naive.conv2dForward(input: input, weight: weight, bias: bias, geometry: g)
            let imageSize = g.inputChannels * g.inputHeight * g.inputWidth
            let outputSize = g.outputChannels * g.columnCount
            let single = try Conv2DGeometry(inputShape: Shape([1] + Array(g.inputShape.dimensions.dropFirst())),
                                            weightShape: g.weightShape, options: g.options)
            for kernel in [GEMMKernel.best, TestDevices.tinyBlocks] {
                let direct = DirectGEMMConvolution(threads: 2, kernel: kernel)
                #expect(direct.blocking(for: g).imagesAsColumns == kernel.isNative, "\(kernel) \(g)")
                let batched = direct.forward(input: input, weight: weight, bias: bias, epilogue: .relu, geometry: g)
                expectClose(batched, TestDevices.naive.activationForward(.relu, input: expected), absolute: 1e-4, relative: 1e-4, "\(kernel) \(g)")
                for image in 0..<g.batch {
                    let x = Tensor(shape: single.inputShape, scalars: Array(input.scalars[(image * imageSize)..<((image + 1) * imageSize)]))
                    let y = direct.forward(input: x, weight: weight, bias: bias, epilogue: .relu, geometry: single)
                    #expect(y.scalars.elementsEqual(batched.scalars[(image * outputSize)..<((image + 1) * outputSize)]) { $0.bitPattern == $1.bitPattern },
                            "\(kernel) \(g) image \(image)")
                }
            }
        }
    }

    struct Packer: CustomStringConvertible, Sendable {
        let nr: Int, vectorPanels: Bool
        var description: String { vectorPanels ? "C packer, nr \(nr)" : "Swift packer, nr \(nr)" }
    }

    /// The Swift packer at every kernel's panel width, and the C packer of every native kernel
    /// this CPU runs (AVX-512, 32 columns; AVX2, 16).
    static let packers: [Packer] =
        GEMMKernel.available.map(\.nr).uniqued().map { Packer(nr: $0, vectorPanels: false) }
        + GEMMKernel.available.filter(\.isNative).map { Packer(nr: $0.nr, vectorPanels: true) }

    /// Batch 1 at two threads: a wide layer is split by output positions, a layer with one column
    /// panel of positions and many channels by output channels; both agree with naive and are
    /// bit-identical at 1, 2, 3, 4 and 8 threads, with the default and with tiny GEMM blocks (Winograd
    /// off, so the direct path runs).
    @Test(arguments: [true, false])
    func splitIsBitIdenticalAcrossThreads(byColumns: Bool) throws {
        let (inputShape, weightShape): (Shape, Shape) = byColumns ? ([1, 16, 20, 21], [24, 16, 3, 3]) : ([1, 40, 4, 4], [70, 40, 3, 3])
        let g = try Conv2DGeometry(inputShape: inputShape, weightShape: weightShape, options: Conv2DOptions(padding: 1))
        let split = DirectGEMMConvolution(threads: 2, kernel: .best).blocking(for: g).split
        #expect(split.parts == 2 && split.byColumns == byColumns, "\(split)")
        let input = Tensor.randomNormal(g.inputShape, seed: 1)
        let weight = Tensor.randomNormal(g.weightShape, seed: 2)
        let bias = Tensor.randomNormal([g.outputChannels], seed: 3)
        let expected = TestDevices.naive.conv2dForward(input: input, weight: weight, bias: bias, geometry: g)
        for kernel in [GEMMKernel.best, TestDevices.tinyBlocks] {
            let outputs = [1, 2, 3, 4, 8].map {
                DispatchDevice(threads: $0, fallback: nil, winograd: .never, kernel: kernel).conv2dForward(input: input, weight: weight, bias: bias, geometry: g)
            }
            expectClose(outputs[0], expected, absolute: 1e-4, relative: 1e-4, "\(kernel) \(g)")
            for i in 1..<outputs.count { expectIdentical(outputs[i], outputs[0], "\(kernel) at \(i + 1) threads \(g)") }
        }
    }
}

/// A random convolution (batch 1, strides 1–4, padding 0–3, dilation 1–2, odd sizes) with an
/// input and random ranges of its column matrix that start and end anywhere: `taps` (rows),
/// `channels` (whole channels' rows) and `positions` (columns).
struct PackingCase: CustomStringConvertible {
    let geometry: Conv2DGeometry
    let input: Tensor
    let taps: Range<Int>, channels: Range<Int>, positions: Range<Int>
    let seed: UInt64
    var description: String { "\(geometry) taps \(taps) channels \(channels) positions \(positions)" }

    /// 150 cases from `seed`, with up to `maxChannels` input channels and `maxWidth` input columns.
    static func random(seed: UInt64, maxChannels: Int, maxWidth: Int) -> [PackingCase] {
        var generator = SeededGenerator(seed: seed)
        func pick(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
        var cases: [PackingCase] = []
        while cases.count < 150 {
            let options = Conv2DOptions(
                stride: Size2D(height: pick(1...4), width: pick(1...4)),
                padding: Size2D(height: pick(0...3), width: pick(0...3)),
                dilation: Size2D(height: pick(1...2), width: pick(1...2)))
            let channelCount = pick(1...maxChannels)
            guard let g = try? Conv2DGeometry(inputShape: [1, channelCount, pick(1...15), pick(1...maxWidth)],
                                              weightShape: [2, channelCount, pick(1...4), pick(1...5)], options: options)
            else { continue }
            let firstTap = pick(0...(g.columnRows - 1))
            let firstChannel = pick(0...(channelCount - 1))
            let firstPosition = pick(0...(g.columnCount - 1))
            let caseSeed = seed &+ UInt64(cases.count)
            cases.append(PackingCase(
                geometry: g, input: Tensor.randomNormal(g.inputShape, seed: caseSeed),
                taps: firstTap..<pick((firstTap + 1)...g.columnRows),
                channels: firstChannel..<pick((firstChannel + 1)...channelCount),
                positions: firstPosition..<pick((firstPosition + 1)...g.columnCount),
                seed: caseSeed))
        }
        return cases
    }
}

extension Array where Element: Hashable {
    fileprivate func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
