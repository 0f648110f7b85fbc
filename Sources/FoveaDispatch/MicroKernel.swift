import CFoveaKernels

/// The 6×16 GEMM micro-kernels: `C[0..<m, 0..<n] (+)= Apanel · Bpanel` (see `CFoveaKernels.h`).
///
/// Why C: Swift's default x86-64 target has no AVX2/FMA, and a package may not set `-mavx2` for
/// its users without `unsafeFlags`. The portable Swift kernel below compiles to SSE and reaches a
/// fraction of the C kernel's speed (see Docs/Backends.md); the C kernel gets AVX2+FMA through a
/// per-function `target` attribute and is used only after a CPU check.
enum MicroKernel {
    typealias Function = @Sendable (
        _ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
        _ ldc: Int, _ m: Int32, _ n: Int32, _ accumulate: Int32
    ) -> Void

    static let usesAVX2 = fovea_cpu_has_avx2_fma() != 0

    static let best: Function = usesAVX2 ? avx2 : portable

    static let avx2: Function = { kc, a, b, c, ldc, m, n, accumulate in
        fovea_sgemm_kernel_6x16_avx2(kc, a, b, c, ldc, m, n, accumulate)
    }

    /// Portable kernel: six rows of `SIMD16<Float>` accumulators.
    static let portable: Function = { kc, a, b, c, ldc, m, n, accumulate in
        var r0 = SIMD16<Float>(), r1 = SIMD16<Float>(), r2 = SIMD16<Float>()
        var r3 = SIMD16<Float>(), r4 = SIMD16<Float>(), r5 = SIMD16<Float>()
        let vectors = UnsafeRawPointer(b)
        for p in 0..<kc {
            let bv = vectors.loadUnaligned(fromByteOffset: p * 64, as: SIMD16<Float>.self)
            let ap = a + p * 6
            r0 = ap[0] * bv + r0
            r1 = ap[1] * bv + r1
            r2 = ap[2] * bv + r2
            r3 = ap[3] * bv + r3
            r4 = ap[4] * bv + r4
            r5 = ap[5] * bv + r5
        }
        let rows = [r0, r1, r2, r3, r4, r5]
        for i in 0..<Int(m) {
            let row = c + i * ldc
            for j in 0..<Int(n) { row[j] = accumulate != 0 ? row[j] + rows[i][j] : rows[i][j] }
        }
    }
}
