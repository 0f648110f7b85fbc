import COpenBLAS
import FoveaCore
import FoveaKernels

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
    /// The convolution rules (`GEMMConvolutionPlanner`: im2col, Winograd by `FOVEA_WINOGRAD`).
    package let planner: GEMMConvolutionPlanner
    /// Algorithms forced per pass instead of the planner's choice.
    public let algorithms: ConvolutionAlgorithmOverride
    let plans = ConvolutionPlanCache<ConvolutionPlan>()

    /// - Parameters:
    ///   - workspaceBytesPerWorker: the largest im2col tile one worker packs (default 8 MiB).
    ///   - workspaceLimitBytes: the most convolution workspace one call allocates over all its
    ///     workers (default 64 MiB; see `Im2colConvolution`).
    ///   - policy, winogradTileSize: when 3×3 stride-1 convolutions use Winograd (`GEMMConvolutionPlanner`).
    ///   - algorithms: algorithms forced per pass (a forced one that cannot run a layer's geometry
    ///     makes `convolutionPlan(for:pass:)` throw).
    public init(threads: Int, fallback: (any Device)?, workspaceBytesPerWorker: Int = Im2colConvolution.defaultWorkspaceBytesPerWorker,
                workspaceLimitBytes: Int = Im2colConvolution.defaultWorkspaceLimitBytes,
                winograd policy: WinogradPolicy = .automatic, winogradTileSize: WinogradTileSize = .f4x4,
                algorithms: ConvolutionAlgorithmOverride = .none) {
        OpenBLAS.useSingleThread()
        threadCount = max(threads, 1)
        self.fallback = fallback
        self.algorithms = algorithms
        let convolution = Im2colConvolution(threads: threadCount, workspaceBytesPerWorker: workspaceBytesPerWorker,
                                            workspaceLimitBytes: workspaceLimitBytes, gemm: OpenBLAS.sgemm)
        let winograd = WinogradConvolution(threads: threadCount, workspaceBytesPerWorker: workspaceBytesPerWorker,
                                           workspaceLimitBytes: workspaceLimitBytes, filterCache: .shared, gemm: OpenBLAS.sgemm)
        planner = GEMMConvolutionPlanner(im2col: convolution, winograd: winograd,
                                         setting: WinogradSetting(policy: policy, tileSize: winogradTileSize))
    }

    public var convolution: Im2colConvolution { planner.im2col }
    public var winograd: WinogradConvolution { planner.winograd }

    public func convolutionPlan(for g: Conv2DGeometry, pass: ConvolutionPass) throws -> ConvolutionPlan {
        try plans.plan(for: g, pass: pass) { try planner.plan(for: g, pass: pass, forcing: algorithms) }
    }

    public var name: String { "openblas" }

    /// Batch norm is the fallback's; so are its fused forms (the defaults would run the fallback's
    /// batch norm and activation as two passes).
    public func batchNormInference(input: Tensor, scale: Tensor, shift: Tensor, runningMean: Tensor, runningVariance: Tensor, epsilon: Float,
                                   activation: Activation) -> Tensor {
        delegate("batchNormInference").batchNormInference(
            input: input, scale: scale, shift: shift, runningMean: runningMean, runningVariance: runningVariance, epsilon: epsilon,
            activation: activation)
    }

    public func batchNormTraining(input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float, activation: Activation) -> BatchNormTrainingResult {
        delegate("batchNormTraining").batchNormTraining(input: input, scale: scale, shift: shift, epsilon: epsilon, activation: activation)
    }

    public func batchNormTraining(input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float, activation: Activation,
                                  residual: Tensor) -> BatchNormTrainingResult {
        delegate("batchNormTraining").batchNormTraining(input: input, scale: scale, shift: shift, epsilon: epsilon, activation: activation,
                                                        residual: residual)
    }

    public func batchNormResidualBackward(gradOutput: Tensor, input: Tensor, scale: Tensor, statistics: BatchNormStatistics,
                                          activation: Activation, output: Tensor) -> BatchNormResidualGradients {
        delegate("batchNormBackward").batchNormResidualBackward(gradOutput: gradOutput, input: input, scale: scale, statistics: statistics,
                                                                activation: activation, output: output)
    }

    public func batchNormBackward(gradOutput: Tensor, input: Tensor, scale: Tensor, statistics: BatchNormStatistics,
                                  activation: Activation, output: Tensor) -> BatchNormGradients {
        delegate("batchNormBackward").batchNormBackward(gradOutput: gradOutput, input: input, scale: scale, statistics: statistics,
                                                        activation: activation, output: output)
    }

    public var serialGEMM: SerialGEMM { OpenBLAS.sgemm }
}
