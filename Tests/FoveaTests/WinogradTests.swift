import Fovea
import FoveaKernels
import FoveaTestSupport
import Testing

/// Winograd F(2×2,3×3) and F(4×4,3×3) against `naive` (which sums in Double: the float64 direct
/// convolution, rounded once), on random 3×3 stride-1 geometries.
///
/// Tolerance: the error of F(m×m) grows with the magnitude of the terms its transforms add and
/// cancel (the inputs and filters), not with |y| of each output, so the bound is absolute,
/// `|Δ| ≤ τ · max |y|` over the case. On the suite's layers (C up to 512, WinogradAccuracyTests)
/// the worst measured max|Δ|/max|y| is ≈ 1.5e-5 for F(4×4) and < 1e-6 for F(2×2) and im2col; the
/// cases here have at most 24 channels. τ = 5e-5 is above all of these, while a wrong transform
/// coefficient or tile index gives errors of the order of max |y|.
@Suite("Winograd convolution")
struct WinogradTests {
    static let tolerance: Float = 5e-5
    /// Small enough that the `wide` case and the larger random ones split their output channels
    /// into chunks of 16, large enough that every case here has a Winograd plan.
    static let smallBudget = 160 << 10

    /// Every case must reach the Winograd path on `device` (forward and backward-data), else the
    /// comparison would silently test im2col.
    static func expectPlans(_ device: DispatchDevice, _ c: ConvCase, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect((try? device.convolutionPlan(for: c.geometry, pass: .forward))?.winograd != nil, "no forward plan for \(c)",
                sourceLocation: sourceLocation)
        if WinogradConvolution.backwardDataGeometry(c.geometry) != nil {
            #expect((try? device.convolutionPlan(for: c.geometry, pass: .backwardData))?.winograd != nil, "no backward-data plan for \(c)",
                    sourceLocation: sourceLocation)
        }
    }

    /// `WinogradTileSize` (FoveaCore, where `WinogradPlan` sizes its tiles) and the transforms of
    /// FoveaKernels agree on the tile sides.
    @Test("tile sizes match their transforms", arguments: WinogradTileSize.allCases)
    func tileSidesMatchTransforms(_ tileSize: WinogradTileSize) {
        #expect(tileSize.outputTile == tileSize.transform.outputTile)
        #expect(tileSize.inputTile == tileSize.transform.inputTile)
    }

    /// Random 3×3 stride-1 cases: odd and even sizes not multiples of the tile (1…13), padding 0–2,
    /// 1–3 images, channels 1 and up to 24.
    static let cases: [ConvCase] = {
        var generator = SeededGenerator(seed: 909)
        func pick(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
        var cases: [ConvCase] = []
        for index in 0..<24 {
            let padding = Size2D(height: pick(0...2), width: pick(0...2))
            let channels = index % 4 == 0 ? 1 : pick(2...24)
            let outputs = index % 5 == 0 ? 1 : pick(2...24)
            let height = pick(max(1, 3 - 2 * padding.height)...13), width = pick(max(1, 3 - 2 * padding.width)...13)
            cases.append(try! ConvCase(input: [pick(1...3), channels, height, width], weight: [outputs, channels, 3, 3],
                                       options: Conv2DOptions(padding: padding), seed: 9000 + UInt64(index)))
        }
        return cases
    }()

    static func devices(_ tileSize: WinogradTileSize) -> [(String, any Device)] {
        [
            ("dispatch ×2", DispatchDevice(threads: 2, fallback: nil, winograd: .always, winogradTileSize: tileSize)),
            ("openblas ×2", OpenBLASDevice(threads: 2, fallback: nil, winograd: .always, winogradTileSize: tileSize)),
            // A small budget: several output-channel chunks and narrow tile blocks.
            // (The Dispatch device's panel GEMM chunks U by the call's limit, so that is small too.)
            ("dispatch ×3, 160 KiB", DispatchDevice(threads: 3, fallback: nil, workspaceBytesPerWorker: smallBudget, workspaceLimitBytes: smallBudget,
                                                    winograd: .always, winogradTileSize: tileSize)),
        ]
    }

    static func scale(_ t: Tensor) -> Float { max(t.scalars.map(abs).max() ?? 0, 1e-3) }

    @Test(arguments: WinogradTileSize.allCases)
    func forwardAgreesWithNaive(tileSize: WinogradTileSize) {
        for c in Self.cases {
            Self.expectPlans(DispatchDevice(threads: 3, fallback: nil, workspaceBytesPerWorker: Self.smallBudget, workspaceLimitBytes: Self.smallBudget,
                                            winograd: .always, winogradTileSize: tileSize), c)
            for withBias in [true, false] {
                let bias = withBias ? c.bias : nil
                let expected = TestDevices.naive.conv2dForward(input: c.input, weight: c.weight, bias: bias, geometry: c.geometry)
                for (label, device) in Self.devices(tileSize) {
                    let actual = device.conv2dForward(input: c.input, weight: c.weight, bias: bias, geometry: c.geometry)
                    expectClose(actual, expected, absolute: Self.tolerance * Self.scale(expected), relative: 0,
                                "\(tileSize) \(label) forward bias \(withBias) \(c)")
                }
            }
        }
    }

    @Test(arguments: WinogradTileSize.allCases)
    func backwardDataAgreesWithNaive(tileSize: WinogradTileSize) {
        for c in Self.cases {
            let expected = TestDevices.naive.conv2dBackwardData(gradOutput: c.gradOutput, weight: c.weight, geometry: c.geometry)
            for (label, device) in Self.devices(tileSize) {
                let actual = device.conv2dBackwardData(gradOutput: c.gradOutput, weight: c.weight, geometry: c.geometry)
                expectClose(actual, expected, absolute: Self.tolerance * Self.scale(expected), relative: 0,
                            "\(tileSize) \(label) backward-data \(c)")
            }
        }
    }

    /// The devices above really take the Winograd path: their result is bit-identical to the
    /// Winograd driver's and (for layers with more than one channel) differs from im2col's.
    @Test func devicesTakeTheWinogradPath() throws {
        let c = Self.cases.first { $0.geometry.inputChannels > 4 && $0.geometry.outputChannels > 1 }!
        let device = DispatchDevice(threads: 2, fallback: nil, winograd: .always)
        let direct = try #require(device.winograd.forward(tileSize: .f4x4, input: c.input, weight: c.weight, bias: c.bias, geometry: c.geometry))
        expectIdentical(device.conv2dForward(input: c.input, weight: c.weight, bias: c.bias, geometry: c.geometry), direct, "device vs driver")
        let im2col = device.convolution.forward(input: c.input, weight: c.weight, bias: c.bias, geometry: c.geometry)
        #expect(im2col.scalars != direct.scalars, "Winograd and im2col should round differently on \(c)")
        let never = DispatchDevice(threads: 2, fallback: nil, winograd: .never)
        expectIdentical(never.conv2dForward(input: c.input, weight: c.weight, bias: c.bias, geometry: c.geometry), im2col, "never → im2col")
    }

    /// Dispatch with Winograd gives identical bits at 1–4 threads (the item split changes, each
    /// element's reduction does not), with the default budget and with a small one (chunks).
    /// (im2col's backward-data is thread-independent only at the default budget, so every case
    /// here must have a Winograd plan.)
    @Test(arguments: WinogradTileSize.allCases)
    func resultsIndependentOfThreadCount(tileSize: WinogradTileSize) {
        for budget in [Im2colConvolution.defaultWorkspaceBytesPerWorker, Self.smallBudget] {
            let devices = (1...4).map { DispatchDevice(threads: $0, fallback: nil, workspaceBytesPerWorker: budget, workspaceLimitBytes: budget == Self.smallBudget ? budget : Im2colConvolution.defaultWorkspaceLimitBytes,
                                                       winograd: .always, winogradTileSize: tileSize) }
            for c in Self.cases.suffix(10) + [ConvCase.wide] {
                devices.forEach { Self.expectPlans($0, c) }
                let forward = devices.map { $0.conv2dForward(input: c.input, weight: c.weight, bias: c.bias, geometry: c.geometry) }
                let data = devices.map { $0.conv2dBackwardData(gradOutput: c.gradOutput, weight: c.weight, geometry: c.geometry) }
                for i in 1..<devices.count {
                    expectIdentical(forward[i], forward[0], "\(tileSize) forward at \(i + 1) threads, budget \(budget) \(c)")
                    expectIdentical(data[i], data[0], "\(tileSize) backward-data at \(i + 1) threads, budget \(budget) \(c)")
                }
            }
        }
    }

    /// Only 3×3, stride 1, dilation 1, one group; backward-data only for padding ≤ 2.
    @Test func eligibility() throws {
        let winograd = WinogradConvolution(threads: 2, gemm: { _, _, _, _, _, _, _, _, _, _, _, _, _ in })
        func geometry(_ kernel: Int, _ options: Conv2DOptions) throws -> Conv2DGeometry {
            try Conv2DGeometry(inputShape: [1, 4, 12, 12], weightShape: [4, 4 / options.groups, kernel, kernel], options: options)
        }
        #expect(winograd.tilePlan(for: try geometry(3, Conv2DOptions(padding: 1)), tileSize: .f4x4) != nil)
        #expect(winograd.tilePlan(for: try geometry(3, Conv2DOptions(padding: 3)), tileSize: .f4x4) != nil)
        #expect(WinogradConvolution.backwardDataGeometry(try geometry(3, Conv2DOptions(padding: 3))) == nil)
        #expect(winograd.tilePlan(for: try geometry(3, Conv2DOptions(stride: 2, padding: 1)), tileSize: .f4x4) == nil)
        #expect(winograd.tilePlan(for: try geometry(3, Conv2DOptions(padding: 2, dilation: 2)), tileSize: .f4x4) == nil)
        #expect(winograd.tilePlan(for: try geometry(3, Conv2DOptions(padding: 1, groups: 2)), tileSize: .f4x4) == nil)
        #expect(winograd.tilePlan(for: try geometry(5, Conv2DOptions(padding: 2)), tileSize: .f4x4) == nil)
        #expect(winograd.tilePlan(for: try geometry(1, Conv2DOptions()), tileSize: .f4x4) == nil)
    }

    /// The automatic rule: small channel counts or few tiles stay on im2col; suite-sized layers
    /// take Winograd. `never` never does.
    @Test func automaticRule() throws {
        let automatic = OpenBLASDevice(threads: 2, fallback: nil)
        let never = OpenBLASDevice(threads: 2, fallback: nil, winograd: .never)
        let vgg = try Conv2DGeometry(inputShape: [1, 256, 56, 56], weightShape: [256, 256, 3, 3], options: Conv2DOptions(padding: 1))
        let rgb = try Conv2DGeometry(inputShape: [1, 3, 224, 224], weightShape: [64, 3, 3, 3], options: Conv2DOptions(padding: 1))
        let tiny = try Conv2DGeometry(inputShape: [1, 64, 6, 6], weightShape: [64, 64, 3, 3], options: Conv2DOptions(padding: 1))
        #expect(try automatic.convolutionPlan(for: vgg, pass: .forward).algorithm == .winograd4)
        #expect(try automatic.convolutionPlan(for: rgb, pass: .forward).algorithm == .im2col)
        #expect(try automatic.convolutionPlan(for: tiny, pass: .forward).algorithm == .im2col)
        #expect(try never.convolutionPlan(for: vgg, pass: .forward).algorithm == .im2col)
    }

    /// A call's workspace stays within threads × the per-worker budget on every 3×3 layer of the
    /// ImageNet suite (batch 1 and 8), for both tile sizes, at the default budget and a small one;
    /// a budget too small for 16 channels and 8 tiles gives no plan (im2col instead).
    @Test func workspaceWithinBudget() throws {
        let layers: [(c: Int, k: Int, size: Int)] = [
            (192, 384, 13), (384, 256, 13), (256, 256, 13), (3, 64, 224), (64, 64, 224), (64, 128, 112), (128, 256, 56),
            (256, 256, 56), (256, 512, 28), (512, 512, 14), (64, 64, 56), (128, 128, 28), (256, 256, 14), (512, 512, 7), (128, 32, 56),
        ]
        for tileSize in WinogradTileSize.allCases {
            for budget in [Im2colConvolution.defaultWorkspaceBytesPerWorker, 1 << 20] {
                for threads in [1, 2, 3] {
                    let winograd = WinogradConvolution(threads: threads, workspaceBytesPerWorker: budget,
                                                       gemm: { _, _, _, _, _, _, _, _, _, _, _, _, _ in })
                    for layer in layers {
                        for batch in [1, 8] {
                            let g = try Conv2DGeometry(inputShape: [batch, layer.c, layer.size, layer.size], weightShape: [layer.k, layer.c, 3, 3],
                                                       options: Conv2DOptions(padding: 1))
                            guard let plan = winograd.tilePlan(for: g, tileSize: tileSize) else { continue }
                            #expect(plan.workspaceBytes <= threads * budget, "\(tileSize) \(g) \(plan)")
                            #expect(plan.chunkHeight * plan.chunks >= g.outputChannels && plan.blockWidth * plan.blocks >= plan.tiles)
                        }
                    }
                }
            }
            let starved = WinogradConvolution(threads: 2, workspaceBytesPerWorker: 4096,
                                              gemm: { _, _, _, _, _, _, _, _, _, _, _, _, _ in })
            let g = try Conv2DGeometry(inputShape: [1, 64, 56, 56], weightShape: [64, 64, 3, 3], options: Conv2DOptions(padding: 1))
            #expect(starved.tilePlan(for: g, tileSize: tileSize) == nil)
        }
        // The default budget holds every suite layer's plan (none falls back for lack of memory).
        let device = DispatchDevice(threads: 2, fallback: nil, winograd: .always)
        for layer in layers {
            let g = try Conv2DGeometry(inputShape: [1, layer.c, layer.size, layer.size], weightShape: [layer.k, layer.c, 3, 3], options: Conv2DOptions(padding: 1))
            #expect(device.winograd.tilePlan(for: g, tileSize: .f4x4) != nil, "\(g)")
        }
    }

    /// The automatic rule's tile count: 64 tiles, or 32 with at most 256 input channels (28×28 at
    /// batch 1 is 49 tiles: taken on 128 and 256 channels, not on 512); full tiles and ≥ 16
    /// channels both sides as before.
    @Test func paysFromThirtyTwoTilesOnNarrowInputs() throws {
        func pays(_ c: Int, _ k: Int, _ size: Int, batch: Int = 1) throws -> Bool {
            let g = try Conv2DGeometry(inputShape: [batch, c, size, size], weightShape: [k, c, 3, 3], options: Conv2DOptions(padding: 1))
            return WinogradSetting.pays(try #require(WinogradPlan(g, tileSize: .f4x4, threads: 1, workspaceBytesPerWorker: 1 << 26)), g)
        }
        #expect(try pays(128, 128, 28))
        #expect(try pays(256, 512, 28))
        #expect(try !pays(512, 256, 28))
        #expect(try pays(512, 256, 28, batch: 2))
        #expect(try !pays(128, 128, 20))  // 25 tiles
        #expect(try !pays(8, 128, 56))
        #expect(try !pays(512, 512, 7, batch: 8))  // 32 tiles, but 512 channels and 77% coverage
    }
}

extension ConvCase {
    /// Many channels and more than one tile block per image (F(2×2): 15×15 tiles of 2×2).
    static let wide = try! ConvCase(input: [2, 37, 30, 29], weight: [40, 37, 3, 3], options: Conv2DOptions(padding: 1), seed: 9100)}
