import FoveaCore

/// The Grand Central Dispatch backend: Fovea's own packed SIMD GEMM (`PackedGEMM`), convolution
/// by im2col + that GEMM (`GEMMBackedDevice`), and the other operations in
/// `DispatchDevice+*.swift`, parallel over `DispatchQueue.concurrentPerform` with `threadCount`
/// workers. Operations it does not implement go to `fallback` (normally `NaiveDevice`).
public struct DispatchDevice: GEMMBackedDevice {
    public let threadCount: Int
    public let fallback: (any Device)?
    public let convolution: Im2colConvolution

    /// - Parameters:
    ///   - workspaceBytesPerWorker: the largest im2col tile one worker packs (default 8 MiB).
    ///   - workspaceLimitBytes: the most convolution workspace one call allocates over all its
    ///     workers (default 64 MiB; see `Im2colConvolution`).
    public init(threads: Int, fallback: (any Device)?, workspaceBytesPerWorker: Int = Im2colConvolution.defaultWorkspaceBytesPerWorker,
                workspaceLimitBytes: Int = Im2colConvolution.defaultWorkspaceLimitBytes) {
        threadCount = max(threads, 1)
        self.fallback = fallback
        convolution = Im2colConvolution(threads: threadCount, workspaceBytesPerWorker: workspaceBytesPerWorker,
                                          workspaceLimitBytes: workspaceLimitBytes, gemm: PackedGEMM.serial)
    }

    public var name: String { "dispatch" }
    public var serialGEMM: SerialGEMM { PackedGEMM.serial }
}
