/// The checked entry points: they validate shapes and arguments, throw a `FoveaError` that names
/// the operation and the expected and actual values, and then call the device's operation.
extension Device {
    /// 2-D convolution of `input` `[N, C, H, W]` with `weight` `[K, C/groups, R, S]` and an
    /// optional `bias` `[K]`. Returns `[N, K, P, Q]`; see `ConvolutionArithmetic` for P and Q.
    public func conv2d(
        _ input: Tensor, weight: Tensor, bias: Tensor? = nil,
        options: Conv2DOptions = Conv2DOptions(), name: String = "conv2d"
    ) throws -> Tensor {
        let geometry = try Conv2DGeometry(inputShape: input.shape, weightShape: weight.shape, options: options, name: name)
        if let bias { try checkBias(bias, geometry: geometry, name: name) }
        try checkConvolutionPlan(for: geometry, pass: .forward)
        return conv2dForward(input: input, weight: weight, bias: bias, geometry: geometry)
    }

    /// `∂L/∂input` of `conv2d`, given `∂L/∂output` and the input's shape.
    public func conv2dGradientInput(
        gradOutput: Tensor, weight: Tensor, inputShape: Shape,
        options: Conv2DOptions = Conv2DOptions(), name: String = "conv2d"
    ) throws -> Tensor {
        let geometry = try Conv2DGeometry(inputShape: inputShape, weightShape: weight.shape, options: options, name: name)
        try checkGradOutput(gradOutput, geometry: geometry, name: name)
        try checkConvolutionPlan(for: geometry, pass: .backwardData)
        return conv2dBackwardData(gradOutput: gradOutput, weight: weight, geometry: geometry)
    }

    /// `∂L/∂weight` and `∂L/∂bias` of `conv2d`, given `∂L/∂output`, the input, and the weight's shape.
    public func conv2dGradientFilter(
        gradOutput: Tensor, input: Tensor, weightShape: Shape,
        options: Conv2DOptions = Conv2DOptions(), name: String = "conv2d"
    ) throws -> Conv2DFilterGradients {
        let geometry = try Conv2DGeometry(inputShape: input.shape, weightShape: weightShape, options: options, name: name)
        try checkGradOutput(gradOutput, geometry: geometry, name: name)
        try checkConvolutionPlan(for: geometry, pass: .backwardFilter)
        return conv2dBackwardFilter(gradOutput: gradOutput, input: input, geometry: geometry)
    }

    /// Matrix product of 2-D tensors: `op(a)·op(b)`, where `op` transposes when asked.
    public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws -> Tensor {
        guard a.shape.rank == 2, b.shape.rank == 2 else {
            throw FoveaError.shapeMismatch("matmul: both operands must be 2-D, got \(a.shape) and \(b.shape)")
        }
        let (m, k) = transposeA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let (kB, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        guard k == kB else {
            throw FoveaError.shapeMismatch(
                "matmul: inner dimensions differ: op(a) is \(m)×\(k), op(b) is \(kB)×\(n); expected op(b) to have \(k) rows")
        }
        var c = Tensor(zeros: [m, n])
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                         alpha: 1, a: pa.baseAddress!, lda: a.shape[1],
                         b: pb.baseAddress!, ldb: b.shape[1],
                         beta: 0, c: pc.baseAddress!, ldc: n)
                }
            }
        }
        return c
    }

    private func checkBias(_ bias: Tensor, geometry: Conv2DGeometry, name: String) throws {
        guard bias.shape == [geometry.outputChannels] else {
            throw FoveaError.shapeMismatch(
                "\(name): bias must have shape \(Shape([geometry.outputChannels])) (one per output channel), got \(bias.shape)")
        }
    }

    private func checkGradOutput(_ gradOutput: Tensor, geometry: Conv2DGeometry, name: String) throws {
        guard gradOutput.shape == geometry.outputShape else {
            throw FoveaError.shapeMismatch(
                "\(name): output gradient must have the output shape \(geometry.outputShape), got \(gradOutput.shape)")
        }
    }
}
