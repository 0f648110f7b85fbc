import COpenBLAS
import FoveaCore
import FoveaKernels

/// The one place that calls OpenBLAS.
package enum OpenBLAS {
    /// Row-major `cblas_sgemm`; the arguments follow `Device.gemm`.
    package static let sgemm: SerialGEMM = { transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc in
        guard m > 0, n > 0 else { return }
        if k == 0 {  // BLAS would leave C untouched when beta == 1; make beta == 0 clear it.
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Makes OpenBLAS compute on the calling thread only (Fovea parallelises with GCD).
    package static func useSingleThread() { openblas_set_num_threads(1) }

    /// Lets OpenBLAS use its own `threads` threads (for measuring `cblas_sgemm` alone; never from
    /// inside GCD workers).
    package static func setThreads(_ threads: Int) { openblas_set_num_threads(Int32(threads)) }

    /// OpenBLAS's build configuration string, e.g. `OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Cooperlake MAX_THREADS=64`.
    package static var configuration: String { String(cString: openblas_get_config()) }

    /// The CPU core type OpenBLAS selected (`Haswell`, `Cooperlake`, …).
    package static var coreName: String { String(cString: openblas_get_corename()) }
}
