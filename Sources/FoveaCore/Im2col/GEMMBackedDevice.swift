/// A device built around one serial GEMM: large `gemm` calls are split over GCD workers by
/// `ParallelGEMM`, and convolutions run as im2col tiles on an `Im2colConvolution` using the same
/// GEMM. `DispatchDevice` (Fovea's packed GEMM) and `OpenBLASDevice` (`cblas_sgemm`) are both
/// this; a new GEMM backend gets GEMM and convolution by conforming and naming its GEMM.
/// 3×3 stride-1 convolutions large enough to gain go to `winograd` (forward and backward-data),
/// the rest to `convolution`.
public protocol GEMMBackedDevice: Device {
    /// The single-threaded GEMM every operation of the device is built on.
    var serialGEMM: SerialGEMM { get }
    /// The convolution driver (holds the thread count and workspace budget).
    var convolution: Im2colConvolution { get }
    /// The Winograd driver for 3×3 stride-1 layers (same GEMM, threads and workspace budget).
    var winograd: WinogradConvolution { get }
    /// The workspace bytes one call of `pass` (`forward`, `backward-data`, `backward-filter`)
    /// allocates for `g` on the path the device takes (within `convolution.workspaceLimitBytes`).
    func convolutionWorkspaceBytes(for g: Conv2DGeometry, pass: String) -> Int
}

extension GEMMBackedDevice {
    /// Winograd's buffers where it takes the layer, else the im2col tiles.
    public func convolutionWorkspaceBytes(for g: Conv2DGeometry, pass: String) -> Int {
        winograd.workspaceBytes(for: g, pass: pass) ?? convolution.workspaceBytes(for: g, pass: pass)
    }

    public func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        ParallelGEMM.run(
            threads: threadCount, serial: serialGEMM, transposeA: transposeA, transposeB: transposeB,
            m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, geometry: Conv2DGeometry) -> Tensor {
        winograd.forward(input: input, weight: weight, bias: bias, geometry: geometry)
            ?? convolution.forward(input: input, weight: weight, bias: bias, geometry: geometry)
    }

    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue, geometry: Conv2DGeometry) -> Tensor {
        winograd.forward(input: input, weight: weight, bias: bias, epilogue: epilogue, geometry: geometry)
            ?? convolution.forward(input: input, weight: weight, bias: bias, epilogue: epilogue, geometry: geometry)
    }

    public func conv2dBackwardData(gradOutput: Tensor, weight: Tensor, geometry: Conv2DGeometry) -> Tensor {
        winograd.backwardData(gradOutput: gradOutput, weight: weight, geometry: geometry)
            ?? convolution.backwardData(gradOutput: gradOutput, weight: weight, geometry: geometry)
    }

    public func conv2dBackwardFilter(gradOutput: Tensor, input: Tensor, geometry: Conv2DGeometry) -> Conv2DFilterGradients {
        convolution.backwardFilter(gradOutput: gradOutput, input: input, geometry: geometry)
    }
}
