@testable import FoveaDispatch
import Fovea
import FoveaKernels
import FoveaTestSupport
import Testing

/// Issue #17: `dispatch` is bit-identical at 1–8 threads on every convolution path it has, and it
/// picks the same path at every thread count. Before the fix its Winograd/direct choice priced the
/// panel plan made for the device's thread count, so ResNet-18 at batch 3 ran 512→512 3×3 @7 by
/// F(2×2) at 1–2 threads and by the direct GEMM at 3 or more (2,637 of 3,000 logits differed).
/// Each case below says which path it reaches and checks that it does.
@Suite("Every dispatch convolution path is thread-count independent")
struct ThreadCountPathTests {
    static let hasAVX512 = GEMMKernel.available.contains { $0.isAVX512 }

    static func device(_ threads: Int, policy: WinogradPolicy = .automatic, tileSize: WinogradTileSize = .f4x4,
                       workspaceLimitBytes: Int = Im2colConvolution.defaultWorkspaceLimitBytes) -> DispatchDevice {
        DispatchDevice(threads: threads, fallback: NaiveDevice(), workspaceLimitBytes: workspaceLimitBytes,
                       winograd: policy, winogradTileSize: tileSize)
    }

    static func geometry(_ input: Shape, _ weight: Shape, stride: Int = 1, padding: Int = 0, groups: Int = 1) throws -> Conv2DGeometry {
        try Conv2DGeometry(inputShape: input, weightShape: weight,
                           options: Conv2DOptions(stride: Size2D(stride), padding: Size2D(padding), groups: groups))
    }

    /// Every path-choosing rule of the device gives the same answer at 1–8, 16 and 64 threads:
    /// the Winograd tile size or direct GEMM for forward and backward-data (automatic policy) on
    /// 3×3 stride-1 layers of batches 1–4, 4–28 pixels and 16–512 channels (hundreds of them
    /// changed with the thread count before the fix), and the shifted-image forward and
    /// shifted-rows backward-filter rules at workspace limits that fit one worker's buffers but
    /// not eight (they used to count `threads` workers' buffers against the limit).
    @Test func everyRuleChoosesTheSamePathAtEveryThreadCount() throws {
        let counts = ThreadedBackend.threadCounts + [16, 64]
        let devices = counts.map { Self.device($0) }
        var checked = 0
        for batch in [1, 2, 3, 4] {
            for size in [4, 7, 10, 13, 14, 16, 28] {
                for (c, k) in [(16, 16), (64, 96), (96, 64), (64, 64), (128, 64), (128, 128), (192, 384), (256, 256), (512, 512), (128, 32)] {
                    let g = try Self.geometry([batch, c, size, size], [k, c, 3, 3], padding: 1)
                    let forward = devices.map { $0.chosen(g, .forward).winogradTileSize }
                    let backwardData = devices.map { $0.chosen(g, .backwardData).winogradTileSize }
                    #expect(Set(forward).count == 1, "forward of \(g) at \(counts) threads: \(forward)")
                    #expect(Set(backwardData).count == 1, "backward-data of \(g) at \(counts) threads: \(backwardData)")
                    checked += 1
                }
            }
        }
        #expect(checked == 280)
        // The shifted paths need one worker's buffers within the limit; from one limit to the next
        // they go from not fitting to fitting, and at none may the answer follow the thread count.
        let shifted = try Self.geometry([1, 32, 40, 40], [64, 32, 3, 3], stride: 2, padding: 1)
        let shiftedRows = try Self.geometry([2, 32, 16, 16], [48, 32, 3, 3], padding: 1)
        var taken = Set<Bool>()
        for limit in stride(from: 64 << 10, through: 1 << 20, by: 16 << 10) {
            let devices = counts.map { Self.device($0, workspaceLimitBytes: limit) }
            let forward = devices.map { $0.planner.shiftedImagePays(shifted) }
            let backwardFilter = devices.map { $0.planner.shiftedRowsPays(shiftedRows) }
            #expect(Set(forward).count == 1, "shifted-image forward at a \(limit) B limit, \(counts) threads: \(forward)")
            #expect(Set(backwardFilter).count == 1, "shifted-rows backward-filter at a \(limit) B limit, \(counts) threads: \(backwardFilter)")
            taken.formUnion(forward + backwardFilter)
            for device in devices {
                for (g, pass) in [(shifted, ConvolutionPass.forward), (shiftedRows, .backwardFilter)] {
                    let bytes = try device.convolutionPlan(for: g, pass: pass).workspaceBytes
                    #expect(bytes <= limit, "\(pass) of \(g) at \(device.threadCount) threads: \(bytes) B > \(limit) B")
                }
            }
        }
        if GEMMKernel.best.isNative { #expect(taken == [false, true], "the limits cover both answers") }
    }

    /// One convolution case, the device configuration that reaches its path, and the path it must take.
    struct PathCase: CustomTestStringConvertible, Sendable {
        let path: String
        let geometry: Conv2DGeometry
        var policy = WinogradPolicy.automatic
        var tileSize = WinogradTileSize.f4x4
        var workspaceLimitBytes = Im2colConvolution.defaultWorkspaceLimitBytes
        /// The passes to compare (those whose path this case pins).
        var passes: Set<ConvolutionPass> = Set(ConvolutionPass.allCases)
        /// Whether the path exists only with the AVX-512 kernel (shifted rows, the direct
        /// backward-filter) or is pinned to its choice; the others run with the AVX2 kernel too.
        var needsAVX512 = false
        /// Whether `device` (at 1 thread) takes `path` for the passes it pins.
        let takes: @Sendable (DispatchDevice, Conv2DGeometry) -> Bool

        var testDescription: String { "\(path): \(geometry)" }

        func device(_ threads: Int) -> DispatchDevice {
            ThreadCountPathTests.device(threads, policy: policy, tileSize: tileSize, workspaceLimitBytes: workspaceLimitBytes)
        }
    }

    static let pathCases: [PathCase] = [
        PathCase(path: "Winograd F(4×4) forward and backward-data", geometry: try! geometry([2, 16, 12, 12], [24, 16, 3, 3], padding: 1),
                 policy: .always, passes: [.forward, .backwardData]) { d, g in
            d.chosen(g, .forward).winogradTileSize == .f4x4 && d.chosen(g, .backwardData).winogradTileSize == .f4x4
        },
        PathCase(path: "Winograd F(2×2) forward and backward-data", geometry: try! geometry([2, 16, 11, 13], [20, 16, 3, 3], padding: 1),
                 policy: .always, tileSize: .f2x2, passes: [.forward, .backwardData]) { d, g in
            d.chosen(g, .forward).winogradTileSize == .f2x2 && d.chosen(g, .backwardData).winogradTileSize == .f2x2
        },
        // The automatic choice where it used to follow the thread count: F(2×2) at 1 thread, the
        // direct GEMM (forward) and im2col (backward-data) at 2 or more, before the fix; now the
        // 2-thread choice at every count.
        PathCase(path: "automatic choice (direct forward, im2col backward-data) on a formerly thread-dependent layer",
                 geometry: try! geometry([1, 128, 10, 10], [96, 128, 3, 3], padding: 1), passes: [.forward, .backwardData],
                 needsAVX512: true) { d, g in
            d.chosen(g, .forward).winogradTileSize == nil && d.chosen(g, .backwardData).winogradTileSize == nil
        },
        PathCase(path: "shifted image, stride 1 (1×1, image read as it is)", geometry: try! geometry([2, 32, 16, 16], [40, 32, 1, 1]),
                 passes: [.forward]) { d, g in d.chosen(g, .forward).winogradTileSize == nil && d.planner.shiftedImagePays(g) },
        PathCase(path: "shifted image, strided with staging (3×3/2 on phase planes)",
                 geometry: try! geometry([1, 8, 32, 32], [16, 8, 3, 3], stride: 2, padding: 1),
                 passes: [.forward]) { d, g in d.planner.shiftedImagePays(g) },
        PathCase(path: "direct GEMM forward, batch 1 (split by columns or rows)", geometry: try! geometry([1, 24, 20, 20], [136, 24, 3, 3], padding: 1),
                 policy: .never, passes: [.forward]) { d, g in !d.planner.shiftedImagePays(g) && !d.directConvolution.blocking(for: g).imagesAsColumns },
        PathCase(path: "direct GEMM forward, images as columns, groups", geometry: try! geometry([3, 12, 9, 9], [150, 6, 3, 3], stride: 2, padding: 1, groups: 2),
                 passes: [.forward]) { d, g in d.directConvolution.blocking(for: g).imagesAsColumns },
        PathCase(path: "im2col backward-data (strided)", geometry: try! geometry([2, 12, 15, 15], [18, 12, 3, 3], stride: 2, padding: 1),
                 passes: [.backwardData]) { d, g in d.chosen(g, .backwardData).winogradTileSize == nil },
        PathCase(path: "shifted-rows backward-filter", geometry: try! geometry([2, 32, 12, 12], [24, 32, 3, 3], padding: 1),
                 passes: [.backwardFilter]) { d, g in d.planner.shiftedRowsPays(g) },
        PathCase(path: "direct backward-filter split by positions", geometry: try! geometry([2, 16, 13, 11], [40, 16, 3, 3], padding: 1),
                 passes: [.backwardFilter]) { d, g in
            !d.planner.shiftedRowsPays(g) && d.directBackwardFilter.handles(g) && !d.directBackwardFilter.blocking(for: g).splitsTaps
        },
        PathCase(path: "direct backward-filter split by taps", geometry: try! geometry([1, 64, 6, 6], [160, 64, 3, 3], padding: 1),
                 passes: [.backwardFilter]) { d, g in d.directBackwardFilter.handles(g) && d.directBackwardFilter.blocking(for: g).splitsTaps },
        PathCase(path: "im2col backward-filter (partial sums above the limit)", geometry: try! geometry([2, 8, 10, 10], [16, 8, 3, 3], padding: 1),
                 workspaceLimitBytes: 16 << 10, passes: [.backwardFilter]) { d, g in
            !d.planner.shiftedRowsPays(g) && !d.directBackwardFilter.handles(g)
        },
    ]

    /// Each path at 1–8 threads gives the one-thread bits, forward (with bias and a fused ReLU),
    /// backward-data and backward-filter (weight and bias), for the passes the case pins.
    @Test(.enabled(if: GEMMKernel.best.isNative, "the shifted and direct paths need AVX-512 or AVX2"),
          arguments: Self.pathCases.filter { Self.hasAVX512 || !$0.needsAVX512 })
    func everyPathGivesTheSameBitsAtEveryThreadCount(_ c: PathCase) throws {
        let g = c.geometry
        for threads in ThreadedBackend.threadCounts {
            #expect(c.takes(c.device(threads), g), "\(c.path) not taken for \(g) at \(threads) threads")
        }
        var generator = SeededGenerator(seed: 1717)
        let input = Tensor.randomNormal(g.inputShape, using: &generator)
        let weight = Tensor.randomNormal(g.weightShape, standardDeviation: 0.5, using: &generator)
        let bias = Tensor.randomNormal([g.outputChannels], using: &generator)
        let gradOutput = Tensor.randomNormal(g.outputShape, using: &generator)
        ThreadedBackend.expectSameBits(c.path, make: { c.device($0) }) { device in
            let device = device as! DispatchDevice
            var results: [Tensor] = []
            if c.passes.contains(.forward) {
                results.append(device.conv2dForward(input: input, weight: weight, bias: bias, epilogue: .relu, geometry: g))
            }
            if c.passes.contains(.backwardData) {
                results.append(device.conv2dBackwardData(gradOutput: gradOutput, weight: weight, geometry: g))
            }
            if c.passes.contains(.backwardFilter) {
                let gradients = device.conv2dBackwardFilter(gradOutput: gradOutput, input: input, geometry: g)
                results += [gradients.weight, gradients.bias]
            }
            return results
        }
    }
}
