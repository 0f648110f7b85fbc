import CFoveaKernels
import FoveaCore

/// Fovea's own single-threaded GEMM, blocked for the cache hierarchy in the manner of BLIS/GotoBLAS:
///
///     for jc in 0..<n step NC            // a column block of B and C (fits L3)
///       for pc in 0..<k step KC          //   pack op(B)[pc.., jc..] into 16-column panels
///         for ic in 0..<m step MC        //   pack alpha·op(A)[ic.., pc..] into 6-row panels (fits L2)
///           for jr in 0..<NC step 16     //     one B panel (KC×16, fits L1) …
///             for ir in 0..<MC step 6    //       … against every A panel: the 6×16 micro-kernel
///
/// Packing copies each block once into contiguous, aligned panels in the order the micro-kernel
/// reads them, zero-padding ragged edges, and folds in transposition and alpha. The micro-kernel
/// is C with AVX2+FMA (`CFoveaKernels`) when the CPU has them, else a portable Swift SIMD kernel.
public enum PackedGEMM {
    static let mr = Int(FOVEA_GEMM_MR)
    static let nr = Int(FOVEA_GEMM_NR)
    /// Rows of A per L2 block (a multiple of 6), depth per block, columns of B per L3 block (a multiple of 16).
    static let mc = 144, kc = 256, nc = 4080

    /// The kernel this machine uses: `avx2-fma (C)` or `portable (Swift SIMD)`.
    public static var kernelDescription: String { MicroKernel.usesAVX2 ? "avx2-fma (C)" : "portable (Swift SIMD)" }

    /// `C ← alpha·op(A)·op(B) + beta·C`, row-major, on the calling thread (arguments as in `Device.gemm`).
    public static let serial: SerialGEMM = { transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc in
        multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                 a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, kernel: MicroKernel.best)
    }

    /// The same GEMM with the portable Swift micro-kernel forced (for tests and measurements).
    public static let portable: SerialGEMM = { transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc in
        multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                 a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, kernel: MicroKernel.portable)
    }

    static func multiply(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
        kernel: MicroKernel.Function
    ) {
        guard m > 0, n > 0 else { return }
        if beta != 1 {
            for i in 0..<m {
                let row = c + i * ldc
                if beta == 0 { row.update(repeating: 0, count: n) } else { for j in 0..<n { row[j] *= beta } }
            }
        }
        guard k > 0, alpha != 0 else { return }
        let blockColumns = min(nc, roundUp(n, to: nr))
        guard let packedA = fovea_thread_scratch(0, mc * kc),
              let packedB = fovea_thread_scratch(1, kc * blockColumns)
        else { fatalError("PackedGEMM: could not allocate packing buffers") }

        for jc in stride(from: 0, to: n, by: nc) {
            let columns = min(nc, n - jc)
            for pc in stride(from: 0, to: k, by: kc) {
                let depth = min(kc, k - pc)
                packB(transposed: transposeB, b: b, ldb: ldb, rows: pc, depth: depth, columns: jc, count: columns, into: packedB)
                for ic in stride(from: 0, to: m, by: mc) {
                    let rows = min(mc, m - ic)
                    packA(transposed: transposeA, a: a, lda: lda, rows: ic, count: rows, depth: pc, length: depth,
                          alpha: alpha, into: packedA)
                    for jr in stride(from: 0, to: columns, by: nr) {
                        let panelB = packedB + jr * depth
                        for ir in stride(from: 0, to: rows, by: mr) {
                            kernel(depth, packedA + ir * depth, panelB, c + (ic + ir) * ldc + jc + jr, ldc,
                                   Int32(min(mr, rows - ir)), Int32(min(nr, columns - jr)), 1)
                        }
                    }
                }
            }
        }
    }

    /// Packs rows `rows..<rows+count` and columns `depth..<depth+length` of alpha·op(A) into panels
    /// of 6 rows: panel i holds `length` steps of 6 values, rows past `count` are zero.
    static func packA(
        transposed: Bool, a: UnsafePointer<Float>, lda: Int, rows: Int, count: Int, depth: Int, length: Int,
        alpha: Float, into out: UnsafeMutablePointer<Float>
    ) {
        for panel in stride(from: 0, to: count, by: mr) {
            let destination = out + panel * length
            let live = min(mr, count - panel)
            if transposed {
                // op(A)[i, p] = a[p·lda + i]: each step reads `live` contiguous values.
                for p in 0..<length {
                    let source = a + (depth + p) * lda + rows + panel
                    let step = destination + p * mr
                    for i in 0..<live { step[i] = alpha * source[i] }
                    for i in live..<mr { step[i] = 0 }
                }
            } else {
                for i in 0..<mr {
                    if i < live {
                        let source = a + (rows + panel + i) * lda + depth
                        for p in 0..<length { destination[p * mr + i] = alpha * source[p] }
                    } else {
                        for p in 0..<length { destination[p * mr + i] = 0 }
                    }
                }
            }
        }
    }

    /// Packs rows `rows..<rows+depth` and columns `columns..<columns+count` of op(B) into panels of
    /// 16 columns: panel j holds `depth` steps of 16 values, columns past `count` are zero.
    static func packB(
        transposed: Bool, b: UnsafePointer<Float>, ldb: Int, rows: Int, depth: Int, columns: Int, count: Int,
        into out: UnsafeMutablePointer<Float>
    ) {
        for panel in stride(from: 0, to: count, by: nr) {
            let destination = out + panel * depth
            let live = min(nr, count - panel)
            if transposed {
                // op(B)[p, j] = b[j·ldb + p]: each column is contiguous in p.
                for j in 0..<nr {
                    if j < live {
                        let source = b + (columns + panel + j) * ldb + rows
                        for p in 0..<depth { destination[p * nr + j] = source[p] }
                    } else {
                        for p in 0..<depth { destination[p * nr + j] = 0 }
                    }
                }
            } else if live == nr {
                for p in 0..<depth {
                    (destination + p * nr).update(from: b + (rows + p) * ldb + columns + panel, count: nr)
                }
            } else {
                for p in 0..<depth {
                    let step = destination + p * nr
                    step.update(from: b + (rows + p) * ldb + columns + panel, count: live)
                    (step + live).update(repeating: 0, count: nr - live)
                }
            }
        }
    }

    @inline(__always) static func roundUp(_ value: Int, to multiple: Int) -> Int {
        (value + multiple - 1) / multiple * multiple
    }
}
