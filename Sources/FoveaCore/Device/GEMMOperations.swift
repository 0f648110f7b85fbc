/// General matrix multiplication, the workhorse of convolution and linear layers.
public protocol GEMMOperations: DeviceIdentity {
    /// General matrix multiply, row-major:
    /// `C ← alpha·op(A)·op(B) + beta·C`, with `op(A)` m×k, `op(B)` k×n and `C` m×n.
    /// `op(X)` is `Xᵀ` when the matching `transpose` flag is set; `lda`, `ldb`, `ldc` are the row
    /// strides of A, B and C as stored. When `beta == 0`, C is overwritten (NaNs in C do not leak).
    func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int)
}

extension GEMMOperations {
    public func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        delegate("gemm").gemm(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
            alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
}
