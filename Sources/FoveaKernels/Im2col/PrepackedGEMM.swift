import FoveaCore

/// A serial GEMM whose A operand is packed once and then multiplied by many B operands: the im2col
/// backward-data packs Wᵀ once per call instead of once per image (`Im2colConvolution.backwardData`).
/// A backend that brings one packs exactly as its `SerialGEMM` would, so the products are the same
/// bits as that GEMM's. Neither closure may start threads of its own.
package struct PrepackedGEMM: Sendable {
    /// Floats the packed form of an m × k matrix takes.
    package let packedFloats: @Sendable (_ m: Int, _ k: Int) -> Int
    /// Packs op(A) (m × k; A row-major with leading dimension `lda`, read transposed when
    /// `transposed`) into `out` (`packedFloats(m, k)` floats).
    package let pack: @Sendable (_ transposed: Bool, _ a: UnsafePointer<Float>, _ lda: Int, _ m: Int, _ k: Int,
                                 _ out: UnsafeMutablePointer<Float>) -> Void
    /// `C = A·B` (m × n, overwritten) with A as `pack` left it and B (k × n) row-major with leading
    /// dimension `ldb`.
    package let multiply: @Sendable (_ packedA: UnsafePointer<Float>, _ m: Int, _ n: Int, _ k: Int,
                                     _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) -> Void

    package init(packedFloats: @escaping @Sendable (Int, Int) -> Int,
                 pack: @escaping @Sendable (Bool, UnsafePointer<Float>, Int, Int, Int, UnsafeMutablePointer<Float>) -> Void,
                 multiply: @escaping @Sendable (UnsafePointer<Float>, Int, Int, Int, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int) -> Void) {
        self.packedFloats = packedFloats
        self.pack = pack
        self.multiply = multiply
    }
}
