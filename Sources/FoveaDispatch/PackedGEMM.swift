import CFoveaKernels
import FoveaCore
import FoveaKernels

/// Fovea's own single-threaded GEMM, blocked for the cache hierarchy in the manner of BLIS/GotoBLAS:
///
///     for jc in 0..<n step NC            // a column block of B and C
///       for pc in 0..<k step KC          //   pack op(B)[pc.., jc..] into NR-column panels
///         for ic in 0..<m step MC        //   pack alpha·op(A)[ic.., pc..] into MR-row panels (fits L2)
///           for jr in 0..<NC step NR     //     one B panel (KC×NR, fits L1) …
///             for ir in 0..<MC step MR   //       … against every A panel: the MR×NR micro-kernel
///
/// Packing copies each block once into contiguous, aligned panels in the order the micro-kernel
/// reads them, zero-padding ragged edges, and folds in transposition and alpha. The micro-kernel
/// and its MR/NR/MC/KC/NC come from a `GEMMKernel` (AVX-512, AVX2+FMA or portable Swift).
///
/// The loop nest itself is `PackedGEMM.compute`, which takes the two packing steps as closures so
/// that convolution can pack B straight from the image (`ConvolutionPacking`).
package enum PackedGEMM {
    /// The kernel this machine uses, e.g. `avx512 12×32 (C)`.
    package static var kernelDescription: String { GEMMKernel.best.name }

    /// `C ← alpha·op(A)·op(B) + beta·C`, row-major, on the calling thread (arguments as in `Device.gemm`).
    package static let serial: SerialGEMM = serial(kernel: .best)

    /// The serial GEMM with a chosen micro-kernel (which the CPU must support: see `GEMMKernel.available`).
    package static func serial(kernel: GEMMKernel) -> SerialGEMM {
        { transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc in
            multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                     a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, kernel: kernel)
        }
    }

    /// The `PrepackedGEMM` of a micro-kernel: `pack` writes A as `compute` packs it — per depth
    /// block of `kc` (from depth d, length L = min(kc, k − d)), ⌈m/mr⌉ panels of mr rows × L steps
    /// at d·m̄ + row·L (m̄ = m rounded up to mr) — and `multiply` runs `compute` on it, packing only
    /// B. The same panels and loop nest as `serial(kernel:)` with beta 0, so the same bits.
    package static func prepacked(kernel: GEMMKernel) -> PrepackedGEMM {
        PrepackedGEMM(
            packedFloats: { m, k in roundUp(m, to: kernel.mr) * k },
            pack: { transposed, a, lda, m, k, out in
                let paddedRows = roundUp(m, to: kernel.mr)
                for depth in stride(from: 0, to: k, by: kernel.kc) {
                    packA(transposed: transposed, a: a, lda: lda, rows: 0, count: m, depth: depth, length: min(kernel.kc, k - depth),
                          alpha: 1, mr: kernel.mr, transposingPacker: kernel.transposingPacker, into: out + depth * paddedRows)
                }
            },
            multiply: { packedA, m, n, k, b, ldb, c, ldc in
                let paddedRows = roundUp(m, to: kernel.mr)
                compute(m: m, n: n, k: k, kernel: kernel, c: c, ldc: ldc, overwrite: true,
                        packA: { _, _, _, _, _ in preconditionFailure("PackedGEMM.prepacked: A is already packed") },
                        packB: { rows, depth, columns, count, out in
                            packB(transposed: false, b: b, ldb: ldb, rows: rows, depth: depth, columns: columns, count: count,
                                  nr: kernel.nr, transposingPacker: kernel.transposingPacker, into: out)
                        },
                        packedA: { rows, depth in UnsafePointer(packedA + depth * paddedRows + rows * min(kernel.kc, k - depth)) })
            })
    }

    static func multiply(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
        kernel: GEMMKernel
    ) {
        guard m > 0, n > 0 else { return }
        let product = k > 0 && alpha != 0
        // With beta 0 the product's first depth block stores into C (never read); otherwise C is
        // scaled (or cleared, when there is no product) and the product added.
        let overwrite = product && beta == 0
        if beta != 1 && !overwrite {
            for i in 0..<m {
                let row = c + i * ldc
                if beta == 0 { row.update(repeating: 0, count: n) } else { for j in 0..<n { row[j] *= beta } }
            }
        }
        guard product else { return }
        compute(m: m, n: n, k: k, kernel: kernel, c: c, ldc: ldc, overwrite: overwrite,
                packA: { rows, count, depth, length, out in
                    packA(transposed: transposeA, a: a, lda: lda, rows: rows, count: count, depth: depth, length: length,
                          alpha: alpha, mr: kernel.mr, transposingPacker: kernel.transposingPacker, into: out)
                },
                packB: { rows, depth, columns, count, out in
                    packB(transposed: transposeB, b: b, ldb: ldb, rows: rows, depth: depth, columns: columns, count: count,
                          nr: kernel.nr, transposingPacker: kernel.transposingPacker, into: out)
                },
                packsWholeBlocksOfB: !transposeB)
    }

    /// Adds a tile's finishing touch while it is still in cache: called once per micro-tile after
    /// the last depth block, with the tile's first row and column in C, its size and its address.
    package typealias Epilogue = (_ row: Int, _ column: Int, _ rows: Int, _ columns: Int, _ tile: UnsafeMutablePointer<Float>) -> Void

    /// The blocked loop nest over packed panels: `C[0..<m, 0..<n] (= or +=) A·B` where `packA`
    /// writes rows `rows..<rows+count`, depths `depth..<depth+length` of A into MR-row panels
    /// (zero rows past `count`) and `packB` writes depths `rows..<rows+depth`, columns
    /// `columns..<columns+count` of B into NR-column panels (zero columns past `count`).
    /// With `overwrite` the first depth block stores instead of adding (C need not be initialised).
    /// When A is a single block (m ≤ MC), each B panel is packed right before its micro-kernel calls.
    /// `packedA`, when given, replaces `packA`: it returns A's rows `rows..<rows+count` (a multiple
    /// of MR) at depths `depth..<depth+length`, already packed in that layout, e.g. from a weight
    /// matrix packed once for a whole batch (the packing is the same, so the results are too).
    /// `packsWholeBlocksOfB` packs the whole depth block of B's columns at once in that case too,
    /// when that block fits in 512 KiB: for B read as rows of a wide matrix (a plain GEMM's
    /// non-transposed B), whose panel-by-panel packing would read a few cache lines from each of
    /// `kc` far-apart rows, too scattered for the hardware prefetcher; a whole block reads each
    /// row's segment in one sequential stream.
    /// Each element of C is reduced over k in the same order (blocks of `kernel.kc`, in order)
    /// whatever m and n are, so splitting a product into row or column blocks gives bit-identical results.
    static func compute(
        m: Int, n: Int, k: Int, kernel: GEMMKernel, c: UnsafeMutablePointer<Float>, ldc: Int, overwrite: Bool,
        packA: (_ rows: Int, _ count: Int, _ depth: Int, _ length: Int, _ out: UnsafeMutablePointer<Float>) -> Void,
        packB: (_ rows: Int, _ depth: Int, _ columns: Int, _ count: Int, _ out: UnsafeMutablePointer<Float>) -> Void,
        epilogue: Epilogue? = nil,
        packedA: ((_ rows: Int, _ depth: Int) -> UnsafePointer<Float>)? = nil,
        packsWholeBlocksOfB: Bool = false
    ) {
        guard m > 0, n > 0 else { return }
        let (mr, nr, mc, kc, nc) = (kernel.mr, kernel.nr, kernel.mc, kernel.kc, kernel.nc)
        let blockRows = min(mc, roundUp(m, to: mr))
        let blockColumns = min(nc, roundUp(n, to: nr))
        guard let scratchA = fovea_thread_scratch(0, blockRows * kc),
              let packedB = fovea_thread_scratch(1, kc * blockColumns)
        else { fatalError("PackedGEMM: could not allocate packing buffers") }
        let micro = kernel.function
        // The only ragged panel is the last of m (MC is a multiple of MR): its kernel, chosen once.
        let lastPanel = kernel.function(forRows: (m - 1) % mr + 1)
        // A block of A: already packed by the caller, or packed now into this thread's buffer.
        func aBlock(_ rows: Int, _ count: Int, _ depth: Int, _ length: Int) -> UnsafePointer<Float> {
            if let packedA { return packedA(rows, depth) }
            packA(rows, count, depth, length, scratchA)
            return UnsafePointer(scratchA)
        }
        if k <= 0 {
            if overwrite { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            if let epilogue { tiles(m: m, n: n, mr: mr, nr: nr) { i, j, rows, columns in epilogue(i, j, rows, columns, c + i * ldc + j) } }
            return
        }
        // Whole blocks of B only while one fits in L2 beside A's block.
        let wholeBlocksOfB = packsWholeBlocksOfB && kc * blockColumns * MemoryLayout<Float>.size <= 512 << 10
        if m <= mc && !wholeBlocksOfB {
            // One block of A: pack it once per depth block and each B panel just before the
            // micro-kernels use it, so the panel is still in L1 (no KC×NC block round trip via L3).
            for pc in stride(from: 0, to: k, by: kc) {
                let depth = min(kc, k - pc)
                let accumulate: Int32 = overwrite && pc == 0 ? 0 : 1
                let last = pc + depth == k
                let blockA = aBlock(0, m, pc, depth)
                for jr in stride(from: 0, to: n, by: nr) {
                    let liveColumns = min(nr, n - jr)
                    packB(pc, depth, jr, liveColumns, packedB)
                    for ir in stride(from: 0, to: m, by: mr) {
                        let tile = c + ir * ldc + jr
                        let liveRows = min(mr, m - ir)
                        let tileKernel = liveRows == mr ? micro : lastPanel
                        tileKernel(depth, blockA + ir * depth, packedB, tile, ldc, Int32(liveRows), Int32(liveColumns), accumulate)
                        if last, let epilogue { epilogue(ir, jr, liveRows, liveColumns, tile) }
                    }
                }
            }
            return
        }
        for jc in stride(from: 0, to: n, by: nc) {
            let columns = min(nc, n - jc)
            for pc in stride(from: 0, to: k, by: kc) {
                let depth = min(kc, k - pc)
                let accumulate: Int32 = overwrite && pc == 0 ? 0 : 1
                let last = pc + depth == k
                packB(pc, depth, jc, columns, packedB)
                for ic in stride(from: 0, to: m, by: mc) {
                    let rows = min(mc, m - ic)
                    let blockA = aBlock(ic, rows, pc, depth)
                    for jr in stride(from: 0, to: columns, by: nr) {
                        let panelB = packedB + jr * depth
                        let liveColumns = min(nr, columns - jr)
                        for ir in stride(from: 0, to: rows, by: mr) {
                            let tile = c + (ic + ir) * ldc + jc + jr
                            let liveRows = min(mr, rows - ir)
                            let tileKernel = liveRows == mr ? micro : lastPanel
                            tileKernel(depth, blockA + ir * depth, panelB, tile, ldc, Int32(liveRows), Int32(liveColumns), accumulate)
                            if last, let epilogue { epilogue(ic + ir, jc + jr, liveRows, liveColumns, tile) }
                        }
                    }
                }
            }
        }
    }

    private static func tiles(m: Int, n: Int, mr: Int, nr: Int, _ body: (Int, Int, Int, Int) -> Void) {
        for i in stride(from: 0, to: m, by: mr) { for j in stride(from: 0, to: n, by: nr) { body(i, j, min(mr, m - i), min(nr, n - j)) } }
    }

    /// Packs rows `rows..<rows+count` and columns `depth..<depth+length` of alpha·op(A) into panels
    /// of `mr` rows: panel i holds `length` steps of `mr` values, rows past `count` are zero.
    /// `transposingPacker` (the C kernels' `GEMMKernel.transposingPacker`) packs non-transposed A
    /// with alpha 1 by register transposes in C; the values are the same.
    static func packA(
        transposed: Bool, a: UnsafePointer<Float>, lda: Int, rows: Int, count: Int, depth: Int, length: Int,
        alpha: Float, mr: Int, transposingPacker: GEMMKernel.TransposingPacker? = nil, into out: UnsafeMutablePointer<Float>
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
                // Step by step, so the writes are contiguous and each row is read as a sequential stream.
                let source = a + (rows + panel) * lda + depth
                if alpha == 1, let transposingPacker {
                    transposingPacker(source, lda, Int32(live), length, Int32(mr), destination)
                } else if live == mr && alpha == 1 {
                    for p in 0..<length {
                        let step = destination + p * mr
                        for i in 0..<mr { step[i] = source[i * lda + p] }
                    }
                } else {
                    for p in 0..<length {
                        let step = destination + p * mr
                        for i in 0..<live { step[i] = alpha * source[i * lda + p] }
                        for i in live..<mr { step[i] = 0 }
                    }
                }
            }
        }
    }

    /// Packs rows `rows..<rows+depth` and columns `columns..<columns+count` of op(B) into panels of
    /// `nr` columns: panel j holds `depth` steps of `nr` values, columns past `count` are zero.
    /// `transposingPacker` packs transposed B by register transposes in C, as for A.
    static func packB(
        transposed: Bool, b: UnsafePointer<Float>, ldb: Int, rows: Int, depth: Int, columns: Int, count: Int,
        nr: Int, transposingPacker: GEMMKernel.TransposingPacker? = nil, into out: UnsafeMutablePointer<Float>
    ) {
        if !transposed {
            packFullPanelsByRows(b: b, ldb: ldb, rows: rows, depth: depth, columns: columns, fullPanels: count / nr, nr: nr, into: out)
        }
        for panel in stride(from: 0, to: count, by: nr) {
            let destination = out + panel * depth
            let live = min(nr, count - panel)
            if transposed, let transposingPacker {
                transposingPacker(b + (columns + panel) * ldb + rows, ldb, Int32(live), depth, Int32(nr), destination)
            } else if transposed {
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
                // Packed above, row by row across every full panel.
                continue
            } else {
                for p in 0..<depth {
                    let step = destination + p * nr
                    step.update(from: b + (rows + p) * ldb + columns + panel, count: live)
                    (step + live).update(repeating: 0, count: nr - live)
                }
            }
        }
    }

    /// The full panels of non-transposed B, row by row: each row's `count` values are read in one
    /// sequential stream and scattered `nr` at a time into their panels.
    private static func packFullPanelsByRows(
        b: UnsafePointer<Float>, ldb: Int, rows: Int, depth: Int, columns: Int, fullPanels: Int, nr: Int,
        into out: UnsafeMutablePointer<Float>
    ) {
        for p in 0..<depth {
            let source = b + (rows + p) * ldb + columns
            for panel in 0..<fullPanels {
                (out + panel * nr * depth + p * nr).update(from: source + panel * nr, count: nr)
            }
        }
    }

    @inline(__always) static func roundUp(_ value: Int, to multiple: Int) -> Int {
        (value + multiple - 1) / multiple * multiple
    }
}
