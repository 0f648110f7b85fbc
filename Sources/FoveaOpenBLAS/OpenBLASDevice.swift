import COpenBLAS
import FoveaCore

/// The OpenBLAS backend: convolution by im2col + `cblas_sgemm`, backward-data by GEMM + col2im,
/// backward-filter by GEMM (`GEMMBackedDevice`, tiling in `Im2colConvolution`).
///
/// Threading: all parallelism comes from GCD. OpenBLAS itself is set to one thread
/// (`openblas_set_num_threads(1)`) when this device is created, because OpenBLAS worker threads
/// started from inside GCD workers fight them for the cores (and keep spinning after each call).
/// A large `gemm` is split into blocks (`ParallelGEMM`), one single-threaded `cblas_sgemm` each.
/// Operations other than GEMM and convolution go to `fallback` (normally the Dispatch device).
public struct OpenBLASDevice: GEMMBackedDevice {
    public let threadCount: Int
    public let fallback: (any Device)?
    public let convolution: Im2colConvolution
    public let winograd: WinogradConvolution

    public init(threads: Int, fallback: (any Device)?, workspaceBytesPerWorker: Int = Im2colConvolution.defaultWorkspaceBytesPerWorker,
                winograd policy: WinogradPolicy = .automatic, winogradTileSize: WinogradTileSize = .f4x4) {
        OpenBLAS.useSingleThread()
        threadCount = max(threads, 1)
        self.fallback = fallback
        convolution = Im2colConvolution(threads: threadCount, workspaceBytesPerWorker: workspaceBytesPerWorker, gemm: OpenBLAS.sgemm)
        winograd = WinogradConvolution(threads: threadCount, workspaceBytesPerWorker: workspaceBytesPerWorker,
                                       policy: policy, tileSize: winogradTileSize, gemm: OpenBLAS.sgemm)
    }

    public var name: String { "openblas" }
    public var serialGEMM: SerialGEMM { OpenBLAS.sgemm }
}
