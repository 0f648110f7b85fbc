/// Local response normalisation across channels (AlexNet; PyTorch's `nn.LocalResponseNorm`):
/// `y[c] = x[c] / (k + α/size · Σ_{c′ near c} x[c′]²)^β`.
public final class LocalResponseNorm: Layer {
    public let options: LocalResponseNormOptions
    private var savedInput: Tensor?

    /// - Throws: `.invalidArgument` when `size` < 1, `alpha` < 0, `k` ≤ 0 or a value is not finite
    ///   (the base `k + α/size·Σx²` must stay positive).
    public init(size: Int, alpha: Float = 1e-4, beta: Float = 0.75, k: Float = 1) throws {
        let check = ArgumentCheck("LocalResponseNorm")
        try check.atLeast(1, size, "size")
        try check.nonNegative(alpha, "alpha")
        try check.finite(beta, "beta")
        try check.positive(k, "k")
        options = LocalResponseNormOptions(size: size, alpha: alpha, beta: beta, k: k)
        super.init()
    }

    public override func outputShape(for shape: Shape) throws -> Shape {
        guard shape.rank == 4 else { throw shapeError("expects a 4-D input [N, C, H, W], got \(shape)") }
        return shape
    }

    public override func forward(_ input: Tensor, device: any Device) throws -> Tensor {
        _ = try outputShape(for: input.shape)
        savedInput = isTraining ? input : nil
        return device.localResponseNormForward(input: input, options: options)
    }

    public override func backward(_ gradOutput: Tensor, device: any Device) throws -> Tensor {
        guard let input = savedInput else { throw missingForwardError() }
        return device.localResponseNormBackward(gradOutput: gradOutput, input: input, options: options)
    }

    public override func flops(for shape: Shape) -> Double { Double(shape.count) * Double(options.size + 4) }
}
