@testable import FoveaDispatch
import Fovea
import FoveaKernels
import FoveaTestSupport
import Testing

/// Winograd with the panel GEMM (U kept in the micro-kernel's A layout, V written in its B
/// panels, `WinogradPanelGEMM`) against Winograd with the serial GEMM that packs both on every
/// call: bit for bit, forward (bias, ReLU) and backward-data, for every available micro-kernel,
/// with tiny cache blocks (several depth blocks, ragged row and column panels; the reference
/// computes ragged row panels in full, the panel GEMM on the kernel's `raggedPanels`), with the Swift and
/// the kernel's C tile transforms (AVX-512 or AVX2), at 1, 2, 3 and 8 threads (the panel plan's
/// blocks depend on the thread count; its results must not).
@Suite("Winograd panel GEMM")
struct WinogradPanelGEMMTests {
    @Test(arguments: WinogradTileSize.allCases)
    func equalsTheSerialGEMMBitForBit(tileSize: WinogradTileSize) throws {
        var generator = SeededGenerator(seed: 77)
        func pick(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
        for kernel in GEMMKernel.available {
            let small = kernel.withBlocking(mc: 2 * kernel.mr, kc: 8, nc: 2 * kernel.nr)
            let native = WinogradTileKernels.forKernel(kernel)  // the C transforms of the kernel's instruction set
            let transforms: [[WinogradTileSize: WinogradTileKernels]] = native.isEmpty ? [[:]] : [[:], native]
            for blocking in [kernel, small] {
                for tileKernels in transforms {
                    for trial in 0..<6 {
                        let c = pick(1...40), k = pick(1...30)
                        let g = try Conv2DGeometry(inputShape: [pick(1...3), c, pick(3...20), pick(3...40)], weightShape: [k, c, 3, 3],
                                                   options: Conv2DOptions(padding: Size2D(pick(0...2))))
                        let seed = UInt64(1000 * trial + c)
                        let (x, w, b) = (Tensor.randomNormal(g.inputShape, seed: seed), Tensor.randomNormal(g.weightShape, seed: seed + 1),
                                         Tensor.randomNormal([k], seed: seed + 2))
                        let dy = Tensor.randomNormal(g.outputShape, seed: seed + 3)
                        func winograd(threads: Int, panels: Bool) -> WinogradConvolution {
                            WinogradConvolution(threads: threads, tileKernels: tileKernels,
                                                panelGEMM: panels ? WinogradPanelGEMM(kernel: blocking) : nil,
                                                gemm: PackedGEMM.serial(kernel: panels ? blocking : blocking.withoutRaggedPanels()))
                        }
                        let reference = winograd(threads: 1, panels: false)
                        let expected = try #require(reference.forward(tileSize: tileSize, input: x, weight: w, bias: b, epilogue: .relu, geometry: g))
                        let expectedGradient = try #require(reference.backwardData(tileSize: tileSize, gradOutput: dy, weight: w, geometry: g))
                        for threads in [1, 2, 3, 8] {
                            let panelled = winograd(threads: threads, panels: true)
                            let label = "\(blocking.name) kc \(blocking.kc), \(tileKernels.isEmpty ? "Swift" : "C") transforms, \(threads) threads, \(g)"
                            let output = try #require(panelled.forward(tileSize: tileSize, input: x, weight: w, bias: b, epilogue: .relu, geometry: g))
                            #expect(Self.same(output, expected), "forward, \(label)")
                            let gradient = try #require(panelled.backwardData(tileSize: tileSize, gradOutput: dy, weight: w, geometry: g))
                            #expect(Self.same(gradient, expectedGradient), "backward-data, \(label)")
                        }
                    }
                }
            }
        }
    }

    /// U's panel layout: every (ξ, row, channel) of a chunk has its own offset inside the chunk's
    /// `filterFloats`, and rows of one panel are `mr` apart at each depth step.
    @Test func filterOffsetsAreDistinctAndInside() throws {
        let g = try Conv2DGeometry(inputShape: [1, 21, 9, 9], weightShape: [17, 21, 3, 3], options: Conv2DOptions(padding: 1))
        let plan = try #require(WinogradPlan(g, tileSize: .f2x2, threads: 1, workspaceBytesPerWorker: 1 << 24,
                                             panels: WinogradPanels(rows: 6, columns: 16, depth: 8)))
        #expect(plan.filterRows == 18)
        var seen = Set<Int>()
        for xi in 0..<16 {
            for row in 0..<plan.chunkHeight {
                for c in 0..<21 {
                    let at = plan.filterOffset(xi: xi, row: row, channel: c)
                    #expect(at >= 0 && at < plan.filterFloats)
                    seen.insert(at)
                }
            }
        }
        #expect(seen.count == 16 * plan.chunkHeight * 21)
        #expect(plan.filterOffset(xi: 0, row: 1, channel: 3) - plan.filterOffset(xi: 0, row: 0, channel: 3) == 1)
        #expect(plan.filterOffset(xi: 0, row: 0, channel: 4) - plan.filterOffset(xi: 0, row: 0, channel: 3) == 6)
    }

    /// V and M of one worker: every (ξ, channel, column) of V has its own offset, the ξ parts of V
    /// and of M are an odd number of cache lines apart (so the α² parts fall in different L1
    /// sets), and V and M together fit `workerFloats`.
    @Test func transformedInputsAreSpreadOverTheCacheSets() throws {
        for (c, width) in [(128, 14), (64, 56), (21, 9), (3, 5)] {
            let g = try Conv2DGeometry(inputShape: [1, c, width, width], weightShape: [32, c, 3, 3], options: Conv2DOptions(padding: 1))
            for tileSize in WinogradTileSize.allCases {
                let plan = try #require(WinogradPlan(g, tileSize: tileSize, threads: 2, workspaceBytesPerWorker: 1 << 24,
                                                     panels: WinogradPanels(rows: 6, columns: 16, depth: 256)))
                let tiles = WinogradTiles(geometry: g, plan: plan)
                let alphaSquared = tileSize.inputTile * tileSize.inputTile
                #expect(plan.inputStride >= c * plan.paddedWidth && (plan.inputStride / 16) % 2 == 1 && plan.inputStride % 16 == 0,
                        "\(tileSize), \(g): V stride \(plan.inputStride)")
                #expect(plan.productStride >= plan.kBlockHeight * plan.paddedWidth && (plan.productStride / 16) % 2 == 1
                        && plan.productStride % 16 == 0, "\(tileSize), \(g): M stride \(plan.productStride)")
                #expect(alphaSquared * (plan.inputStride + plan.productStride) <= plan.workerFloats)
                var seen = Set<Int>()
                for xi in 0..<alphaSquared {
                    for channel in 0..<c {
                        for column in 0..<plan.paddedWidth { seen.insert(tiles.inputOffset(xi: xi, channel: channel, column: column)) }
                    }
                }
                #expect(seen.count == alphaSquared * c * plan.paddedWidth && seen.allSatisfy { $0 >= 0 && $0 < alphaSquared * plan.inputStride })
            }
        }
    }

    static func same(_ a: Tensor, _ b: Tensor) -> Bool {
        a.shape == b.shape && a.scalars.elementsEqual(b.scalars) { $0.bitPattern == $1.bitPattern }
    }
}
