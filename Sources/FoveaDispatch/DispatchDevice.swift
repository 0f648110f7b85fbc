import FoveaCore

/// The Grand Central Dispatch backend: Fovea's own packed SIMD GEMM (`PackedGEMM`), convolution
/// by im2col + that GEMM, parallel over `DispatchQueue.concurrentPerform` with `threadCount`
/// workers. Operations it does not implement go to `fallback` (normally `NaiveDevice`).
public struct DispatchDevice: Device {
    public let threadCount: Int
    public let fallback: (any Device)?
    let convolution: Im2colConvolution

    public init(threads: Int, fallback: (any Device)?, workspaceBytesPerWorker: Int = Im2colConvolution.defaultWorkspaceBytesPerWorker) {
        threadCount = max(threads, 1)
        self.fallback = fallback
        convolution = Im2colConvolution(threads: threadCount, workspaceBytesPerWorker: workspaceBytesPerWorker, gemm: PackedGEMM.serial)
    }

    public var name: String { "dispatch" }

    public func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        ParallelGEMM.run(
            threads: threadCount, serial: PackedGEMM.serial, transposeA: transposeA, transposeB: transposeB,
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
