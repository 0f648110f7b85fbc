import FoveaCore

/// A device built around one serial GEMM: large `gemm` calls are split over GCD workers by
/// `ParallelGEMM`, and convolutions run by the plans of the device's `ConvolutionPlanner` on
/// drivers using the same GEMM (`Im2colConvolution`, `WinogradConvolution`). `DispatchDevice`
/// (Fovea's packed GEMM) and `OpenBLASDevice` (`cblas_sgemm`) are both this; a new GEMM backend
/// gets GEMM and convolution by conforming, naming its GEMM and planning with a
/// `GEMMConvolutionPlanner`.
///
/// Public, unlike the rest of FoveaKernels: the methods of its extension are the witnesses of
/// public `Device` requirements (`gemm`, the convolutions) for the public devices that conform,
/// so they, the protocol and the types its requirements name (`SerialGEMM`, `Im2colConvolution`,
/// `WinogradConvolution`, whose members are `package`) must be public.
public protocol GEMMBackedDevice: Device, ConvolutionPlanning {
    /// The single-threaded GEMM every operation of the device is built on.
    var serialGEMM: SerialGEMM { get }
    /// The im2col driver (holds the thread count and workspace budget).
    var convolution: Im2colConvolution { get }
    /// The Winograd driver for 3×3 stride-1 layers (same GEMM, threads and workspace budget).
    var winograd: WinogradConvolution { get }
}

extension GEMMBackedDevice {
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
        conv2dForward(input: input, weight: weight, bias: bias, epilogue: .none, geometry: geometry)
    }

    /// Runs the plan's forward: `winograd4`/`winograd2` or `im2col`.
    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue, geometry: Conv2DGeometry) -> Tensor {
        let plan = requiredConvolutionPlan(for: geometry, pass: .forward)
        if let tiles = plan.winograd {
            return winograd.forward(input: input, weight: weight, bias: bias, epilogue: epilogue, geometry: geometry, plan: tiles)
        }
        precondition(plan.algorithm == .im2col, "GEMMBackedDevice: no forward driver for \(plan.algorithm)")
        return convolution.forward(input: input, weight: weight, bias: bias, epilogue: epilogue, geometry: geometry)
    }

    /// Runs the plan's backward-data: `winograd4`/`winograd2` or `im2col` (GEMM + col2im).
    public func conv2dBackwardData(gradOutput: Tensor, weight: Tensor, geometry: Conv2DGeometry) -> Tensor {
        let plan = requiredConvolutionPlan(for: geometry, pass: .backwardData)
        if let tiles = plan.winograd {
            return winograd.backwardData(gradOutput: gradOutput, weight: weight, geometry: geometry, plan: tiles)
        }
        precondition(plan.algorithm == .im2col, "GEMMBackedDevice: no backward-data driver for \(plan.algorithm)")
        return convolution.backwardData(gradOutput: gradOutput, weight: weight, geometry: geometry)
    }

    /// Runs backward-filter by `im2col`, the one algorithm `GEMMConvolutionPlanner` has for it.
    public func conv2dBackwardFilter(gradOutput: Tensor, input: Tensor, geometry: Conv2DGeometry) -> Conv2DFilterGradients {
        let plan = requiredConvolutionPlan(for: geometry, pass: .backwardFilter)
        precondition(plan.algorithm == .im2col, "GEMMBackedDevice: no backward-filter driver for \(plan.algorithm)")
        return convolution.backwardFilter(gradOutput: gradOutput, input: input, geometry: geometry)
    }
}
