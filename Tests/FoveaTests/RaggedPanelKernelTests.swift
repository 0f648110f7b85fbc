@testable import FoveaDispatch
import Fovea
import FoveaTestSupport
import Testing

/// A product whose m is not a multiple of MR ends with a ragged A panel. Where a kernel has
/// ragged-panel variants (the AVX-512 12×32 kernel: its first 4 or 8 rows), that panel runs on
/// the narrowest one covering its live rows, and must give exactly the full kernel's bits.
@Suite("Ragged last panels of the GEMM micro-kernel")
struct RaggedPanelKernelTests {
    /// The AVX-512 kernel declares 4- and 8-row panels (whether or not this CPU can run them).
    @Test func avx512KernelHasFourAndEightRowPanels() {
        #expect(GEMMKernel.avx512.raggedPanels.map(\.rows) == [4, 8])
        #expect(GEMMKernel.avx2.raggedPanels.isEmpty && GEMMKernel.portable.raggedPanels.isEmpty)
    }

    /// `function(forRows:)`: on the AVX-512 kernel, 1–4 live rows run the 4-row variant, 5–8 the
    /// 8-row one, 9–12 the full kernel; kernels without variants always run in full.
    @Test(arguments: [GEMMKernel.avx512, GEMMKernel.avx2, GEMMKernel.portable])
    func eachTileGetsTheNarrowestCoveringKernel(kernel: GEMMKernel) {
        func address(_ function: GEMMKernel.Function) -> UnsafeRawPointer { unsafeBitCast(function, to: UnsafeRawPointer.self) }
        for live in 1...kernel.mr {
            let expected: GEMMKernel.Function
            switch (kernel.raggedPanels.isEmpty, live) {
            case (false, 1...4): expected = kernel.raggedPanels[0].function
            case (false, 5...8): expected = kernel.raggedPanels[1].function
            default: expected = kernel.function
            }
            #expect(address(kernel.function(forRows: live)) == address(expected), "\(kernel) with \(live) live rows")
        }
    }

    /// Every kernel this CPU runs, with its ragged panels and computing every panel in full:
    /// the same bits for every m from 1 to 2·MR + 1, two depth blocks and a ragged one (k = 300
    /// with KC 256, and KC 16 with MC 24 so that m > MC takes the blocked path), a partial column
    /// panel, beta 0 and 1, A plain and transposed. Kernels without ragged panels compare with
    /// themselves, which must hold as well.
    @Test(arguments: GEMMKernel.available.map(\.name))
    func raggedPanelsGiveTheFullKernelsBits(kernelName: String) throws {
        let full = try #require(GEMMKernel.available.first { $0.name == kernelName })
        for kernel in [full, full.withBlocking(mc: 2 * full.mr, kc: 16, nc: 4 * full.nr)] {
            for m in 1...(2 * kernel.mr + 1) {
                for (transposeA, beta) in [(false, Float(0)), (true, 1)] {
                    let c = GEMMTests.Case(m: m, n: 45, k: 300, transposeA: transposeA, transposeB: false, alpha: 1, beta: beta)
                    func product(_ kernel: GEMMKernel) -> Tensor {
                        let gemm = PackedGEMM.serial(kernel: kernel)
                        return GEMMTests.run(c, seed: UInt64(m)) { c, a, lda, b, ldb, out, ldc in
                            gemm(c.transposeA, c.transposeB, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, out, ldc)
                        }
                    }
                    expectIdentical(product(kernel), product(kernel.withoutRaggedPanels()), "\(kernel) \(c)")
                }
            }
        }
    }
}
