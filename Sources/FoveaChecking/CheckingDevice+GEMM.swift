import FoveaCore

extension CheckingDevice {
    /// The reference computes into a copy of C (so `beta·C` sees the same C), the subject into C
    /// itself; the two m×n results are compared.
    public func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let shapes = "op(A) \(m)×\(k)\(transposeA ? " (Aᵀ)" : "") · op(B) \(k)×\(n)\(transposeB ? " (Bᵀ)" : ""), α \(alpha), β \(beta)"
        guard m > 0, n > 0 else {
            subject.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                         b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            audit("gemm", shapes: shapes, [])
            return
        }
        var expected = Self.copy(rows: m, columns: n, from: c, stride: ldc)
        expected.withUnsafeMutableBufferPointer { e in
            reference.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                           b: b, ldb: ldb, beta: beta, c: e.baseAddress!, ldc: n)
        }
        subject.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                     b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        let actual = Self.copy(rows: m, columns: n, from: c, stride: ldc)
        audit("gemm", shapes: shapes, [Output("C", actual, expected, floor: tolerance.absoluteFloor)])
    }

    /// The `rows`×`columns` matrix at `pointer` with row stride `stride`, as a contiguous tensor.
    private static func copy(rows: Int, columns: Int, from pointer: UnsafePointer<Float>, stride: Int) -> Tensor {
        var result = Tensor(zeros: [rows, columns])
        result.withUnsafeMutableBufferPointer { out in
            for row in 0..<rows {
                (out.baseAddress! + row * columns).update(from: pointer + row * stride, count: columns)
            }
        }
        return result
    }
}
