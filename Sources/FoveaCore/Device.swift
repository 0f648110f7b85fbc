/// The seam between the layer graph and the numerics. A `Device` is a backend: it owns how
/// GEMM and convolution are computed and how many threads they use.
///
/// Every operation has a default implementation that forwards to `fallback`, so a backend can
/// accelerate only some operations and delegate the rest by composition (the OpenBLAS device
/// delegates non-GEMM work to the Dispatch device; every chain ends at `NaiveDevice`, which
/// implements everything and is the reference).
///
/// Operations receive validated arguments: the checked entry points in `Device+Operations.swift`
/// (`conv2d`, `matmul`, …) validate shapes and build a `Conv2DGeometry` first, so backends never
/// re-check. All matrices are row-major.
public protocol Device: Sendable, CustomStringConvertible {
    /// The short name used by `FOVEA_DEVICE`: `naive`, `dispatch`, `openblas`.
    var name: String { get }
    /// How many threads the device computes with (1 for `naive`).
    var threadCount: Int { get }
    /// The device that runs the operations this one does not implement.
    var fallback: (any Device)? { get }

    /// General matrix multiply, row-major:
    /// `C ← alpha·op(A)·op(B) + beta·C`, with `op(A)` m×k, `op(B)` k×n and `C` m×n.
    /// `op(X)` is `Xᵀ` when the matching `transpose` flag is set; `lda`, `ldb`, `ldc` are the row
    /// strides of A, B and C as stored. When `beta == 0`, C is overwritten (NaNs in C do not leak).
    func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int)

    /// Convolution forward (cross-correlation, as PyTorch):
    /// `y[n,k,p,q] = bias[k] + Σ_{c∈group(k), r, s} x[n,c, p·sh−ph+r·dh, q·sw−pw+s·dw] · w[k,c,r,s]`
    /// (out-of-range input positions read as zero). Returns `geometry.outputShape`.
    func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, geometry: Conv2DGeometry) -> Tensor

    /// Convolution backward with respect to the input: `∂L/∂x` from `∂L/∂y` (`geometry.outputShape`).
    /// Returns a new tensor of `geometry.inputShape` (it does not accumulate into an existing one).
    func conv2dBackwardData(gradOutput: Tensor, weight: Tensor, geometry: Conv2DGeometry) -> Tensor

    /// Convolution backward with respect to the weight and the bias:
    /// `∂L/∂w[k,c,r,s] = Σ_{n,p,q} ∂L/∂y[n,k,p,q] · x[n,c,…]`, `∂L/∂b[k] = Σ_{n,p,q} ∂L/∂y[n,k,p,q]`.
    func conv2dBackwardFilter(gradOutput: Tensor, input: Tensor, geometry: Conv2DGeometry) -> Conv2DFilterGradients
}

/// The gradients `conv2dBackwardFilter` returns: `weight` of `geometry.weightShape`, `bias` of `[K]`.
public struct Conv2DFilterGradients: Sendable {
    public var weight: Tensor
    public var bias: Tensor

    public init(weight: Tensor, bias: Tensor) {
        self.weight = weight
        self.bias = bias
    }
}

// MARK: - Delegation to the fallback device

extension Device {
    public var fallback: (any Device)? { nil }

    public var description: String { "\(name) (\(threadCount) thread\(threadCount == 1 ? "" : "s"))" }

    /// The device that runs `operation` for this one; traps with a message when there is none,
    /// which only happens if a backend with no fallback forgets an operation.
    public func delegate(_ operation: String) -> any Device {
        guard let fallback else {
            fatalError("Fovea: device '\(name)' does not implement \(operation) and has no fallback device")
        }
        return fallback
    }

    public func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        delegate("gemm").gemm(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
            alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, geometry: Conv2DGeometry) -> Tensor {
        delegate("conv2dForward").conv2dForward(input: input, weight: weight, bias: bias, geometry: geometry)
    }

    public func conv2dBackwardData(gradOutput: Tensor, weight: Tensor, geometry: Conv2DGeometry) -> Tensor {
        delegate("conv2dBackwardData").conv2dBackwardData(gradOutput: gradOutput, weight: weight, geometry: geometry)
    }

    public func conv2dBackwardFilter(gradOutput: Tensor, input: Tensor, geometry: Conv2DGeometry) -> Conv2DFilterGradients {
        delegate("conv2dBackwardFilter").conv2dBackwardFilter(gradOutput: gradOutput, input: input, geometry: geometry)
    }
}
