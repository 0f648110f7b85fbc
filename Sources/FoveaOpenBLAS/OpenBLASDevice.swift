import COpenBLAS
import FoveaCore

/// The OpenBLAS backend: convolution by im2col + `cblas_sgemm`, backward-data by GEMM + col2im,
/// backward-filter by GEMM (the tiling lives in `Im2colConvolution`).
///
/// Threading: all parallelism comes from GCD. OpenBLAS itself is set to one thread
/// (`openblas_set_num_threads(1)`) when this device is created, because OpenBLAS worker threads
/// started from inside GCD workers fight them for the cores (and keep spinning after each call).
/// A large `gemm` is split into blocks (`ParallelGEMM`), one single-threaded `cblas_sgemm` each.
/// Operations other than GEMM and convolution go to `fallback` (normally the Dispatch device).
public struct OpenBLASDevice: Device {
    public let threadCount: Int
    public let fallback: (any Device)?
    let convolution: Im2colConvolution

    public init(threads: Int, fallback: (any Device)?, workspaceBytesPerWorker: Int = Im2colConvolution.defaultWorkspaceBytesPerWorker) {
        OpenBLAS.useSingleThread()
        threadCount = max(threads, 1)
        self.fallback = fallback
        convolution = Im2colConvolution(threads: threadCount, workspaceBytesPerWorker: workspaceBytesPerWorker, gemm: OpenBLAS.sgemm)
    }

    public var name: String { "openblas" }

    public func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        ParallelGEMM.run(
            threads: threadCount, serial: OpenBLAS.sgemm, transposeA: transposeA, transposeB: transposeB,
            m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, geometry: Conv2DGeometry) -> Tensor {
        convolution.forward(input: input, weight: weight, bias: bias, geometry: geometry)
    }

    public func conv2dBackwardData(gradOutput: Tensor, weight: Tensor, geometry: Conv2DGeometry) -> Tensor {
        convolution.backwardData(gradOutput: gradOutput, weight: weight, geometry: geometry)
    }

    public func conv2dBackwardFilter(gradOutput: Tensor, input: Tensor, geometry: Conv2DGeometry) -> Conv2DFilterGradients {
        convolution.backwardFilter(gradOutput: gradOutput, input: input, geometry: geometry)
    }
}
