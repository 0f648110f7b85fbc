import FoveaCore

/// Runs one large GEMM on `threads` GCD workers by splitting it into independent blocks — of
/// columns of C when C is wide, of rows when it is tall — each computed by a serial GEMM.
/// Each element of C is reduced over k by one serial call. The blocks depend on m, n, k and
/// `WorkGrain.items` only (a large product is split even at one thread), so every serial call,
/// and hence every result bit, is the same at any thread count.
package enum ParallelGEMM {
    package static func run(
        threads: Int, serial: SerialGEMM,
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let work = Double(m) * Double(n) * Double(max(k, 1))
        guard work >= 2e6 else {
            serial(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        let (aa, bb, cc) = (SendablePointer(a), SendablePointer(b), SendablePointer(c))
        if n >= m {
            let blocks = min(WorkGrain.items, max(n / 64, 1))
            let width = (n + blocks - 1) / blocks
            Parallel.forEach(blocks, threads: threads) { _, block in
                let start = block * width
                let count = min(width, n - start)
                guard count > 0 else { return }
                let bStart = transposeB ? bb.pointer + start * ldb : bb.pointer + start
                serial(transposeA, transposeB, m, count, k, alpha, aa.pointer, lda, bStart, ldb, beta, cc.pointer + start, ldc)
            }
        } else {
            let blocks = min(WorkGrain.items, max(m / 32, 1))
            let height = (m + blocks - 1) / blocks
            Parallel.forEach(blocks, threads: threads) { _, block in
                let start = block * height
                let count = min(height, m - start)
                guard count > 0 else { return }
                let aStart = transposeA ? aa.pointer + start : aa.pointer + start * lda
                serial(transposeA, transposeB, count, n, k, alpha, aStart, lda, bb.pointer, ldb, beta, cc.pointer + start * ldc, ldc)
            }
        }
    }
}
