import FoveaCore

extension NaiveDevice {
    /// `C[i,j] ← alpha·Σ_p op(A)[i,p]·op(B)[p,j] + beta·C[i,j]`.
    public func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var sum: Double = 0
                for p in 0..<k {
                    let aValue = transposeA ? a[p * lda + i] : a[i * lda + p]
                    let bValue = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += Double(aValue) * Double(bValue)
                }
                let scaled = Float(Double(alpha) * sum)
                c[i * ldc + j] = beta == 0 ? scaled : scaled + beta * c[i * ldc + j]
            }
        }
    }
}
