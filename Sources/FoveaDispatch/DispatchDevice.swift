import FoveaCore

/// The Grand Central Dispatch backend: Fovea's own packed SIMD GEMM (`PackedGEMM`, with the
/// fastest micro-kernel the CPU runs), convolution forward as a GEMM packed straight from the
/// image (`DirectGEMMConvolution`), the backward passes by im2col + that GEMM
/// (`GEMMBackedDevice`), and the other operations in `DispatchDevice+*.swift`, parallel over
/// `DispatchQueue.concurrentPerform` with `threadCount` workers. Operations it does not implement
/// go to `fallback` (normally `NaiveDevice`).
public struct DispatchDevice: GEMMBackedDevice {
    public let threadCount: Int
    public let fallback: (any Device)?
    public let convolution: Im2colConvolution
    /// The micro-kernel and blocking of every GEMM the device runs.
    public let kernel: GEMMKernel
    let directConvolution: DirectGEMMConvolution

    /// - Parameter kernel: normally `GEMMKernel.best`; tests pass kernels with tiny blocking to
    ///   exercise every block edge on small shapes. It must be one of `GEMMKernel.available`.
    public init(threads: Int, fallback: (any Device)?, workspaceBytesPerWorker: Int = Im2colConvolution.defaultWorkspaceBytesPerWorker,
                kernel: GEMMKernel = .best) {
        threadCount = max(threads, 1)
        self.fallback = fallback
        self.kernel = kernel
        convolution = Im2colConvolution(threads: threadCount, workspaceBytesPerWorker: workspaceBytesPerWorker,
                                        gemm: PackedGEMM.serial(kernel: kernel))
        directConvolution = DirectGEMMConvolution(threads: threadCount, kernel: kernel)
    }

    public var name: String { "dispatch" }
    public var serialGEMM: SerialGEMM { convolution.gemm }

    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, geometry: Conv2DGeometry) -> Tensor {
        directConvolution.forward(input: input, weight: weight, bias: bias, geometry: geometry)
    }
}
