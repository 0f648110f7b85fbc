@testable import FoveaDispatch
import Fovea
import FoveaTestSupport
import Testing

@Suite("GEMM")
struct GEMMTests {
    struct Case: CustomStringConvertible {
        var m, n, k: Int
        var transposeA, transposeB: Bool
        var alpha, beta: Float
        var description: String { "\(m)×\(n)×\(k) tA=\(transposeA) tB=\(transposeB) α=\(alpha) β=\(beta)" }
    }

    /// Sizes around the micro-kernels' 6×16 and 12×32 tiles and the 144/516 × 256 cache blocks,
    /// k = 1, every transpose combination, and alpha/beta other than 1/0.
    static let cases: [Case] = {
        var result: [Case] = []
        let sizes = [(1, 1, 1), (5, 15, 3), (6, 16, 7), (7, 17, 9), (13, 33, 257), (145, 20, 300), (30, 200, 64), (2, 4097, 3),
                     (12, 32, 1), (11, 31, 5), (25, 65, 2), (241, 47, 513), (37, 4099, 20), (530, 40, 300)]
        for (m, n, k) in sizes {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                result.append(Case(m: m, n: n, k: k, transposeA: ta, transposeB: tb, alpha: 1, beta: 0))
            }
            result.append(Case(m: m, n: n, k: k, transposeA: false, transposeB: false, alpha: -0.5, beta: 0.75))
            result.append(Case(m: m, n: n, k: k, transposeA: true, transposeB: true, alpha: 2, beta: 1))
        }
        return result
    }()

    /// Runs `gemm` with padded leading dimensions (lda, ldb, ldc larger than the row length).
    static func run(_ c: Case, seed: UInt64, gemm: (Case, UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        let (aRows, aCols) = c.transposeA ? (c.k, c.m) : (c.m, c.k)
        let (bRows, bCols) = c.transposeB ? (c.n, c.k) : (c.k, c.n)
        let (lda, ldb, ldc) = (aCols + 3, bCols + 1, c.n + 2)
        let a = Tensor.randomNormal([aRows, lda], seed: seed)
        let b = Tensor.randomNormal([bRows, ldb], seed: seed + 1)
        var out = Tensor.randomNormal([c.m, ldc], seed: seed + 2)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { pc in
                    gemm(c, pa.baseAddress!, lda, pb.baseAddress!, ldb, pc.baseAddress!, ldc)
                }
            }
        }
        return out
    }

    static func deviceGEMM(_ device: any Device) -> (Case, UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int) -> Void {
        { c, a, lda, b, ldb, out, ldc in
            device.gemm(transposeA: c.transposeA, transposeB: c.transposeB, m: c.m, n: c.n, k: c.k,
                        alpha: c.alpha, a: a, lda: lda, b: b, ldb: ldb, beta: c.beta, c: out, ldc: ldc)
        }
    }

    @Test(arguments: TestDevices.accelerated)
    func deviceAgreesWithNaive(device: LabeledDevice) {
        for (index, c) in Self.cases.enumerated() {
            let expected = Self.run(c, seed: UInt64(index), gemm: Self.deviceGEMM(TestDevices.naive))
            let actual = Self.run(c, seed: UInt64(index), gemm: Self.deviceGEMM(device.device))
            expectClose(actual, expected, absolute: 1e-4, relative: 1e-4, "\(device) \(c)")
        }
    }

    /// Every micro-kernel this CPU can run (AVX-512, AVX2+FMA, portable Swift), each named.
    @Test(arguments: GEMMKernel.available.map(\.name))
    func kernelAgreesWithNaive(kernelName: String) throws {
        let kernel = try #require(GEMMKernel.available.first { $0.name == kernelName })
        let gemm = PackedGEMM.serial(kernel: kernel)
        for (index, c) in Self.cases.enumerated() {
            let expected = Self.run(c, seed: UInt64(index), gemm: Self.deviceGEMM(TestDevices.naive))
            let actual = Self.run(c, seed: UInt64(index)) { c, a, lda, b, ldb, out, ldc in
                gemm(c.transposeA, c.transposeB, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, out, ldc)
            }
            expectClose(actual, expected, absolute: 1e-4, relative: 1e-4, "\(kernelName) \(c)")
        }
    }

    /// Packing A into MR-row panels and Bᵀ into NR-column panels writes exactly
    /// `A[row + i, depth + p]·alpha` (resp. `B[column + j, row + p]`) in step p, zero past the live
    /// rows or columns: with the Swift packers (the portable kernel's) and with each C kernel's
    /// transposing packer (AVX-512 12×32, AVX2 6×16) the CPU runs. The shapes end mid-panel and
    /// mid-vector (37 steps; 20 rows, 45 columns).
    @Test(arguments: GEMMKernel.available)
    func transposingPackersAreExact(kernel: GEMMKernel) {
        let (lda, first, count, depth, length) = (47, 3, 20, 5, 37)
        let (mr, nr) = (kernel.mr, kernel.nr)
        let a = Tensor.randomNormal([80, lda], seed: 5).scalars
        for alpha: Float in [1, -0.5] {
            let panels = (count + mr - 1) / mr
            var packed = [Float](repeating: .nan, count: panels * mr * length)
            PackedGEMM.packA(transposed: false, a: a, lda: lda, rows: first, count: count, depth: depth, length: length,
                             alpha: alpha, mr: mr, transposingPacker: kernel.transposingPacker, into: &packed)
            var expected = [Float](repeating: 0, count: panels * mr * length)
            for panel in 0..<panels {
                for p in 0..<length {
                    for i in 0..<mr where panel * mr + i < count {
                        expected[panel * mr * length + p * mr + i] = alpha * a[(first + panel * mr + i) * lda + depth + p]
                    }
                }
            }
            #expect(packed == expected, "A alpha \(alpha) \(kernel)")
        }
        let columns = 45
        let panels = (columns + nr - 1) / nr
        var packed = [Float](repeating: .nan, count: panels * nr * length)
        PackedGEMM.packB(transposed: true, b: a, ldb: lda, rows: depth, depth: length, columns: first, count: columns,
                         nr: nr, transposingPacker: kernel.transposingPacker, into: &packed)
        var expected = [Float](repeating: 0, count: panels * nr * length)
        for panel in 0..<panels {
            for p in 0..<length {
                for j in 0..<nr where panel * nr + j < columns {
                    expected[panel * nr * length + p * nr + j] = a[(first + panel * nr + j) * lda + depth + p]
                }
            }
        }
        #expect(packed == expected, "Bᵀ \(kernel)")
        // Non-transposed B: full panels are packed row by row, the ragged last one by steps.
        let bRows = 80
        let plain = Tensor.randomNormal([bRows, 130], seed: 6).scalars
        var packedPlain = [Float](repeating: .nan, count: panels * nr * length)
        PackedGEMM.packB(transposed: false, b: plain, ldb: 130, rows: depth, depth: length, columns: first, count: columns,
                         nr: nr, into: &packedPlain)
        var expectedPlain = [Float](repeating: 0, count: panels * nr * length)
        for panel in 0..<panels {
            for p in 0..<length {
                for j in 0..<nr where panel * nr + j < columns {
                    expectedPlain[panel * nr * length + p * nr + j] = plain[(depth + p) * 130 + first + panel * nr + j]
                }
            }
        }
        #expect(packedPlain == expectedPlain, "B \(kernel)")
    }

    /// Packing the whole depth block of non-transposed B before the micro-kernels (a linear
    /// layer's ∂x = ∂y·W) gives the same bits as packing each panel just before its tiles:
    /// the same panels, the same reduction order.
    @Test(arguments: GEMMKernel.available)
    func wholeBlocksOfBGiveTheSameBits(kernel: GEMMKernel) {
        for (m, n, k) in [(64, 392, 1024), (13, 45, 300), (1, 33, 7)] {
            let a = Tensor.randomNormal([m, k], seed: 7).scalars
            let b = Tensor.randomNormal([k, n + 3], seed: 8).scalars
            func product(wholeBlocks: Bool) -> [Float] {
                var c = [Float](repeating: .nan, count: m * n)
                c.withUnsafeMutableBufferPointer { out in
                    PackedGEMM.compute(
                        m: m, n: n, k: k, kernel: kernel, c: out.baseAddress!, ldc: n, overwrite: true,
                        packA: { rows, count, depth, length, into in
                            PackedGEMM.packA(transposed: false, a: a, lda: k, rows: rows, count: count, depth: depth, length: length,
                                             alpha: 1, mr: kernel.mr, transposingPacker: kernel.transposingPacker, into: into)
                        },
                        packB: { rows, depth, columns, count, into in
                            PackedGEMM.packB(transposed: false, b: b, ldb: n + 3, rows: rows, depth: depth, columns: columns,
                                             count: count, nr: kernel.nr, into: into)
                        },
                        packsWholeBlocksOfB: wholeBlocks)
                }
                return c
            }
            let whole = product(wholeBlocks: true)
            let finite = whole.allSatisfy { $0.isFinite }
            #expect(finite, "\(kernel) \(m)×\(n)×\(k)")
            #expect(whole.map(\.bitPattern) == product(wholeBlocks: false).map(\.bitPattern), "\(kernel) \(m)×\(n)×\(k)")
        }
    }

    /// The kernel list follows the CPU flags Linux reports, so no kernel is skipped silently.
    @Test func availableKernelsMatchCPUFlags() throws {
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = Set(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
        let names = GEMMKernel.available.map(\.name)
        #expect(names.contains(GEMMKernel.avx512.name) == flags.contains("avx512f"), "\(names)")
        #expect(names.contains(GEMMKernel.avx2.name) == (flags.contains("avx2") && flags.contains("fma")), "\(names)")
        #expect(names.last == GEMMKernel.portable.name)
        #expect(GEMMKernel.best.name == names[0])
    }

    @Test func betaZeroOverwritesNaN() {
        for device in TestDevices.all {
            var c = Tensor(repeating: .nan, shape: [7, 9])
            let a = Tensor.randomNormal([7, 5], seed: 1), b = Tensor.randomNormal([5, 9], seed: 2)
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        device.device.gemm(transposeA: false, transposeB: false, m: 7, n: 9, k: 5, alpha: 1,
                                           a: pa.baseAddress!, lda: 5, b: pb.baseAddress!, ldb: 9, beta: 0, c: pc.baseAddress!, ldc: 9)
                    }
                }
            }
            #expect(c.scalars.allSatisfy { $0.isFinite }, "\(device)")
        }
    }

    @Test func matmulMatchesHandComputedProduct() throws {
        // [[1,2],[3,4]] · [[5,6],[7,8]] = [[19,22],[43,50]]; the expected values follow from the definition.
        let a = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        let b = Tensor(shape: [2, 2], scalars: [5, 6, 7, 8])
        for device in TestDevices.all {
            let c = try device.device.matmul(a, b)
            let expected: [Float] = [1 * 5 + 2 * 7, 1 * 6 + 2 * 8, 3 * 5 + 4 * 7, 3 * 6 + 4 * 8]
            #expect(c.scalars == expected, "\(device)")
            let ct = try device.device.matmul(a, b, transposeA: true)
            let expectedTransposed: [Float] = [1 * 5 + 3 * 7, 1 * 6 + 3 * 8, 2 * 5 + 4 * 7, 2 * 6 + 4 * 8]
            #expect(ct.scalars == expectedTransposed, "\(device)")
        }
    }
}
