/// The seam between the layer graph and the numerics. A `Device` is a backend: it owns how each
/// operation is computed and how many threads it uses.
///
/// The operations come in families, one protocol and one file each (`GEMMOperations`,
/// `ConvolutionOperations`, `PoolingOperations`, `ActivationOperations`, `ElementwiseOperations`,
/// `NormalizationOperations`, `SoftmaxOperations`, `LinearOperations`). Every operation has a
/// default implementation that forwards to `fallback`, so a backend can accelerate only some
/// operations and delegate the rest by composition (the OpenBLAS device delegates non-GEMM work to
/// the Dispatch device; every chain ends at `NaiveDevice`, which implements everything and is the
/// reference). `LinearOperations` is the exception: its default is composed from the device's own
/// `gemm`.
///
/// Operations receive validated arguments: the checked entry points (`conv2d`, `matmul`, …) and
/// the layers validate shapes first and throw a `FoveaError`, so backends never re-check.
/// All matrices are row-major; all images NCHW.
public protocol Device: DeviceIdentity, GEMMOperations, ConvolutionOperations, PoolingOperations,
    ActivationOperations, ElementwiseOperations, NormalizationOperations, SoftmaxOperations,
    LinearOperations {}

/// What every device says about itself.
public protocol DeviceIdentity: Sendable, CustomStringConvertible {
    /// The short name used by `FOVEA_DEVICE`: `naive`, `dispatch`, `openblas`.
    var name: String { get }
    /// How many threads the device computes with (1 for `naive`).
    var threadCount: Int { get }
    /// The device that runs the operations this one does not implement.
    var fallback: (any Device)? { get }
}

extension DeviceIdentity {
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
}
