import FoveaCore

// Every operation family but convolution: timed on the subject, kind and shapes recorded.

extension ProfilingDevice {
    // MARK: GEMM and linear

    public func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        timed("gemm", .forward("gemm"), shapes: "\(m)×\(k) · \(k)×\(n)", flops: 2 * Double(m) * Double(n) * Double(k)) {
            $0.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                    b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    /// `2·N·in·out` FLOPs.
    public func linearForward(input: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        timed("linearForward", .forward("linear"), shapes: "\(Self.dims(input.shape)) · \(Self.dims(weight.shape))ᵀ",
              flops: 2 * Double(input.shape.count) * Double(weight.shape[0])) {
            $0.linearForward(input: input, weight: weight, bias: bias)
        }
    }

    /// `2·N·in·out` FLOPs for the weight gradient, as many again for the input gradient.
    public func linearBackward(gradOutput: Tensor, input: Tensor, weight: Tensor, needsInputGradient: Bool) -> LinearGradients {
        let product = 2 * Double(input.shape.count) * Double(weight.shape[0])
        return timed("linearBackward", .backward("linear"), shapes: "\(Self.dims(input.shape)) · \(Self.dims(weight.shape))ᵀ",
                     flops: needsInputGradient ? 2 * product : product) {
            $0.linearBackward(gradOutput: gradOutput, input: input, weight: weight, needsInputGradient: needsInputGradient)
        }
    }

    // MARK: Pooling

    public func maxPool2dForward(input: Tensor, geometry: Pool2DGeometry) -> MaxPool2DResult {
        timed("maxPool2dForward", .forward("max pool"), shapes: Self.describe(geometry)) {
            $0.maxPool2dForward(input: input, geometry: geometry)
        }
    }

    public func maxPool2dForwardValues(input: Tensor, geometry: Pool2DGeometry) -> Tensor {
        timed("maxPool2dForward", .forward("max pool"), shapes: Self.describe(geometry)) {
            $0.maxPool2dForwardValues(input: input, geometry: geometry)
        }
    }

    public func maxPool2dBackward(gradOutput: Tensor, argmax: [Int32], geometry: Pool2DGeometry) -> Tensor {
        timed("maxPool2dBackward", .backward("max pool"), shapes: Self.describe(geometry)) {
            $0.maxPool2dBackward(gradOutput: gradOutput, argmax: argmax, geometry: geometry)
        }
    }

    public func avgPool2dForward(input: Tensor, geometry: Pool2DGeometry) -> Tensor {
        timed("avgPool2dForward", .forward("average pool"), shapes: Self.describe(geometry)) {
            $0.avgPool2dForward(input: input, geometry: geometry)
        }
    }

    public func avgPool2dForward(input: Tensor, prologue: BatchNormPrologue, geometry: Pool2DGeometry) -> Tensor {
        timed("batchNorm+avgPool2dForward", .forward("average pool"), shapes: Self.describe(geometry)) {
            $0.avgPool2dForward(input: input, prologue: prologue, geometry: geometry)
        }
    }

    public func avgPool2dBackward(gradOutput: Tensor, geometry: Pool2DGeometry) -> Tensor {
        timed("avgPool2dBackward", .backward("average pool"), shapes: Self.describe(geometry)) {
            $0.avgPool2dBackward(gradOutput: gradOutput, geometry: geometry)
        }
    }

    public func adaptiveAvgPool2dForward(input: Tensor, outputSize: Size2D) -> Tensor {
        timed("adaptiveAvgPool2dForward", .forward("average pool"), shapes: "\(Self.dims(input.shape)) → \(outputSize)") {
            $0.adaptiveAvgPool2dForward(input: input, outputSize: outputSize)
        }
    }

    public func adaptiveAvgPool2dBackward(gradOutput: Tensor, inputShape: Shape) -> Tensor {
        timed("adaptiveAvgPool2dBackward", .backward("average pool"), shapes: "\(Self.dims(gradOutput.shape)) → \(Self.dims(inputShape))") {
            $0.adaptiveAvgPool2dBackward(gradOutput: gradOutput, inputShape: inputShape)
        }
    }

    /// E.g. `1×64×112×112 → 1×64×56×56, 3×3/2`.
    static func describe(_ g: Pool2DGeometry) -> String {
        let o = g.options
        let stride = o.stride == o.kernel ? "" : "/\(o.stride)"
        return "\(dims(g.inputShape)) → \(dims(g.outputShape)), \(o.kernel.height)×\(o.kernel.width)\(stride)"
    }

    // MARK: Activation, element-wise, softmax

    public func activationForward(_ activation: Activation, input: Tensor) -> Tensor {
        timed("activationForward", .forward("activation"), shapes: "\(activation) \(Self.dims(input.shape))") {
            $0.activationForward(activation, input: input)
        }
    }

    public func activationBackward(_ activation: Activation, gradOutput: Tensor, input: Tensor) -> Tensor {
        timed("activationBackward", .backward("activation"), shapes: "\(activation) \(Self.dims(input.shape))") {
            $0.activationBackward(activation, gradOutput: gradOutput, input: input)
        }
    }

    public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        timed("add", .forward("add"), shapes: Self.dims(a.shape)) { $0.add(a, b) }
    }

    public func multiply(_ a: Tensor, _ b: Tensor) -> Tensor {
        timed("multiply", .forward("multiply"), shapes: Self.dims(a.shape)) { $0.multiply(a, b) }
    }

    public func concatenateChannels(_ inputs: [Tensor]) -> Tensor {
        timed("concatenateChannels", .forward("concatenate"), shapes: inputs.map { Self.dims($0.shape) }.joined(separator: " + ")) {
            $0.concatenateChannels(inputs)
        }
    }

    public func splitChannels(_ input: Tensor, sizes: [Int]) -> [Tensor] {
        timed("splitChannels", .forward("split"), shapes: "\(Self.dims(input.shape)) → \(sizes)") {
            $0.splitChannels(input, sizes: sizes)
        }
    }

    public func softmaxForward(logits: Tensor, log: Bool) -> Tensor {
        timed("softmaxForward", .forward("softmax"), shapes: Self.dims(logits.shape)) { $0.softmaxForward(logits: logits, log: log) }
    }

    public func softmaxBackward(gradOutput: Tensor, output: Tensor, log: Bool) -> Tensor {
        timed("softmaxBackward", .backward("softmax"), shapes: Self.dims(output.shape)) {
            $0.softmaxBackward(gradOutput: gradOutput, output: output, log: log)
        }
    }

    // MARK: Normalization

    public func batchNormTraining(input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float) -> BatchNormTrainingResult {
        timed("batchNormTraining", .forward("batch norm"), shapes: Self.dims(input.shape)) {
            $0.batchNormTraining(input: input, scale: scale, shift: shift, epsilon: epsilon)
        }
    }

    public func batchNormTraining(input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float, activation: Activation) -> BatchNormTrainingResult {
        timed("batchNormTraining+\(activation)", .forward("batch norm"), shapes: Self.dims(input.shape)) {
            $0.batchNormTraining(input: input, scale: scale, shift: shift, epsilon: epsilon, activation: activation)
        }
    }

    public func batchNormTraining(input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float, activation: Activation,
                                  residual: Tensor) -> BatchNormTrainingResult {
        timed("batchNormTraining+residual+\(activation)", .forward("batch norm"), shapes: Self.dims(input.shape)) {
            $0.batchNormTraining(input: input, scale: scale, shift: shift, epsilon: epsilon, activation: activation, residual: residual)
        }
    }

    public func batchNormResidualBackward(gradOutput: Tensor, input: Tensor, scale: Tensor, statistics: BatchNormStatistics,
                                          activation: Activation, output: Tensor) -> BatchNormResidualGradients {
        timed("batchNormBackward+residual+\(activation)", .backward("batch norm"), shapes: Self.dims(input.shape)) {
            $0.batchNormResidualBackward(gradOutput: gradOutput, input: input, scale: scale, statistics: statistics,
                                         activation: activation, output: output)
        }
    }

    public func batchNormBackward(gradOutput: Tensor, input: Tensor, scale: Tensor, statistics: BatchNormStatistics,
                                  activation: Activation, output: Tensor) -> BatchNormGradients {
        timed("batchNormBackward+\(activation)", .backward("batch norm"), shapes: Self.dims(input.shape)) {
            $0.batchNormBackward(gradOutput: gradOutput, input: input, scale: scale, statistics: statistics,
                                 activation: activation, output: output)
        }
    }

    public func batchNormInference(input: Tensor, scale: Tensor, shift: Tensor, runningMean: Tensor, runningVariance: Tensor,
                                   epsilon: Float) -> Tensor {
        timed("batchNormInference", .forward("batch norm"), shapes: Self.dims(input.shape)) {
            $0.batchNormInference(input: input, scale: scale, shift: shift, runningMean: runningMean,
                                  runningVariance: runningVariance, epsilon: epsilon)
        }
    }

    public func batchNormInference(input: Tensor, scale: Tensor, shift: Tensor, runningMean: Tensor, runningVariance: Tensor,
                                   epsilon: Float, activation: Activation) -> Tensor {
        timed("batchNormInference+\(activation)", .forward("batch norm"), shapes: Self.dims(input.shape)) {
            $0.batchNormInference(input: input, scale: scale, shift: shift, runningMean: runningMean,
                                  runningVariance: runningVariance, epsilon: epsilon, activation: activation)
        }
    }

    public func batchNormBackward(gradOutput: Tensor, input: Tensor, scale: Tensor, statistics: BatchNormStatistics) -> BatchNormGradients {
        timed("batchNormBackward", .backward("batch norm"), shapes: Self.dims(input.shape)) {
            $0.batchNormBackward(gradOutput: gradOutput, input: input, scale: scale, statistics: statistics)
        }
    }

    public func localResponseNormForward(input: Tensor, options: LocalResponseNormOptions) -> Tensor {
        timed("localResponseNormForward", .forward("local response norm"), shapes: Self.dims(input.shape)) {
            $0.localResponseNormForward(input: input, options: options)
        }
    }

    public func localResponseNormBackward(gradOutput: Tensor, input: Tensor, options: LocalResponseNormOptions) -> Tensor {
        timed("localResponseNormBackward", .backward("local response norm"), shapes: Self.dims(input.shape)) {
            $0.localResponseNormBackward(gradOutput: gradOutput, input: input, options: options)
        }
    }
}
