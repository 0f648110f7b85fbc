import FoveaCore

/// The Grand Central Dispatch backend: Fovea's own packed SIMD GEMM (`PackedGEMM`), convolution
/// by im2col + that GEMM (`GEMMBackedDevice`), and the other operations in
/// `DispatchDevice+*.swift`, parallel over `DispatchQueue.concurrentPerform` with `threadCount`
/// workers. Operations it does not implement go to `fallback` (normally `NaiveDevice`).
public struct DispatchDevice: GEMMBackedDevice {
    public let threadCount: Int
    public let fallback: (any Device)?
    public let convolution: Im2colConvolution
    public let winograd: WinogradConvolution

    /// - Parameters:
    ///   - workspaceBytesPerWorker: the largest im2col tile one worker packs (default 8 MiB).
    ///   - workspaceLimitBytes: the most convolution workspace one call allocates over all its
    ///     workers (default 64 MiB; see `Im2colConvolution`).
    ///   - policy, winogradTileSize: when 3×3 stride-1 convolutions use Winograd (`WinogradPlan`).
    public init(threads: Int, fallback: (any Device)?, workspaceBytesPerWorker: Int = Im2colConvolution.defaultWorkspaceBytesPerWorker,
                workspaceLimitBytes: Int = Im2colConvolution.defaultWorkspaceLimitBytes,
                winograd policy: WinogradPolicy = .automatic, winogradTileSize: WinogradTileSize = .f4x4) {
        threadCount = max(threads, 1)
        self.fallback = fallback
        convolution = Im2colConvolution(threads: threadCount, workspaceBytesPerWorker: workspaceBytesPerWorker,
                                          workspaceLimitBytes: workspaceLimitBytes, gemm: PackedGEMM.serial)
        winograd = WinogradConvolution(threads: threadCount, workspaceBytesPerWorker: workspaceBytesPerWorker,
                                       workspaceLimitBytes: workspaceLimitBytes,
                                       policy: policy, tileSize: winogradTileSize, gemm: PackedGEMM.serial)
    }

    public var name: String { "dispatch" }
    public var serialGEMM: SerialGEMM { PackedGEMM.serial }
}
