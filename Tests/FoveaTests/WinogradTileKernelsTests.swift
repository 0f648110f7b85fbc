@testable import FoveaDispatch
import Fovea
import FoveaKernels
import FoveaTestSupport
import Testing

/// The C tile transforms (`WinogradTileKernels.avx512`, `.avx512F2x2`, `.avx2`, `.avx2F2x2`) against
/// `WinogradTiles`' Swift ones: bit for bit, for F(4×4) and F(2×2), on blocks of tiles that start and
/// end mid-row, span images, and touch every border (padding 0–2), with and without ReLU.
@Suite("Winograd C tile transforms")
struct WinogradTileKernelsTests {
    /// The C kernels this CPU runs (AVX-512, AVX2), each with its own transforms.
    static let nativeKernels = GEMMKernel.available.filter(\.isNative)

    /// Every native kernel's transforms, in plain rows and in its panel GEMM's panels (32 columns
    /// for AVX-512, where a 16-tile vector that crosses a panel border is stored in two parts; 16
    /// for AVX2).
    @Test(.enabled(if: !Self.nativeKernels.isEmpty, "needs AVX-512 or AVX2 and FMA"),
          arguments: [WinogradTileSize.f4x4, .f2x2], [false, true])
    func equalTheSwiftTransformsBitForBit(tileSize: WinogradTileSize, inPanels: Bool) throws {
        for kernel in Self.nativeKernels {
            let transforms = try #require(WinogradTileKernels.forKernel(kernel)[tileSize], "\(kernel.name)")
            let panels = inPanels ? WinogradPanels(rows: kernel.mr, columns: kernel.nr, depth: 256) : nil
            switch tileSize {
            case .f4x4: try check(WinogradF4x4.self, .f4x4, kernels: transforms, panels: panels)
            case .f2x2: try check(WinogradF2x2.self, .f2x2, kernels: transforms, panels: panels)
            }
        }
    }

    /// Each kind of CPU gets its own transforms, and the portable kernel the Swift ones.
    @Test func theDeviceTakesTheTransformsOfItsKernel() {
        #expect(WinogradTileKernels.forKernel(.portable).isEmpty)
        for kernel in Self.nativeKernels {
            let transforms = WinogradTileKernels.forKernel(kernel)
            #expect(Set(transforms.keys) == [.f4x4, .f2x2], "\(kernel.name)")
            #expect(transforms[.f4x4]?.tileRowLanes == (kernel.isAVX512 ? 16 : nil), "\(kernel.name)")
        }
    }

    func check<T: WinogradTransform>(_ transform: T.Type, _ tileSize: WinogradTileSize, kernels: WinogradTileKernels,
                                     panels: WinogradPanels?) throws {
        let area = T.inputTile * T.inputTile
        var generator = SeededGenerator(seed: 4242)
        func pick(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
        var checked = 0
        while checked < 40 {
            let (channels, padding) = (pick(1...9), pick(0...2))
            guard let g = try? Conv2DGeometry(inputShape: [pick(1...3), channels, pick(3...30), pick(3...75)],
                                              weightShape: [pick(1...7), channels, 3, 3], options: Conv2DOptions(padding: Size2D(padding))),
                  let plan = WinogradPlan(g, tileSize: tileSize, threads: 1, workspaceBytesPerWorker: 1 << 26, panels: panels)
            else { continue }
            checked += 1
            let tiles = WinogradTiles(geometry: g, plan: plan)
            let x = Tensor.randomNormal(g.inputShape, seed: UInt64(checked))
            let firstTile = pick(0...(plan.tiles - 1))
            let count = pick(1...min(plan.blockWidth, plan.tiles - firstTile))
            let (k, c, width) = (g.outputChannels, g.inputChannels, plan.paddedWidth)
            // Input transform: every written column (those before `count`) equal.
            var swift = [Float](repeating: 0, count: area * tiles.inputStride), vector = swift
            x.withUnsafeBufferPointer { x in
                tiles.transformInput(T.self, x.baseAddress!, firstTile: firstTile, count: count, into: &swift)
                kernels.input(tiles, x.baseAddress!, firstTile, count, &vector)
            }
            for xi in 0..<area {
                for channel in 0..<c {
                    for column in 0..<count {
                        let at = tiles.inputOffset(xi: xi, channel: channel, column: column)
                        guard swift[at].bitPattern != vector[at].bitPattern else { continue }
                        Issue.record("\(tileSize) input transform of \(g), tiles \(firstTile)..<+\(count), panels \(tiles.panelWidth): ξ \(xi), channel \(channel), column \(column): \(swift[at]) vs \(vector[at])")
                        return
                    }
                }
            }
            // Output transform of random products into a sentinel-filled output: identical outputs.
            let products = Tensor.randomNormal([area * k * width], seed: UInt64(500 + checked)).scalars
            let bias = Tensor.randomNormal([k], seed: UInt64(900 + checked)).scalars
            let outputs = (k > 1 ? pick(0...(k - 1)) : 0)..<k
            for epilogue in [ConvolutionEpilogue.none, .relu] {
                var expected = [Float](repeating: .nan, count: g.outputShape.count), actual = expected
                tiles.transformOutput(T.self, products, productStride: k * width, firstTile: firstTile, count: count,
                                      outputChannels: outputs, bias: bias, epilogue: epilogue, into: &expected)
                kernels.output(tiles, products, k * width, firstTile, count, outputs, bias, epilogue, &actual)
                if let index = expected.indices.first(where: { expected[$0].bitPattern != actual[$0].bitPattern }) {
                    Issue.record("\(tileSize) output transform of \(g), tiles \(firstTile)..<+\(count), \(epilogue): element \(index): \(expected[index]) vs \(actual[index])")
                }
            }
        }
    }
}
