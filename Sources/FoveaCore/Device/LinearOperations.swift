/// Fully connected layers: `y = x·Wᵀ + b`. The default implementation is composed from the
/// device's own `gemm`, so every backend gets it at the speed of its GEMM.
public protocol LinearOperations: GEMMOperations {
    /// `y[n, o] = b[o] + Σ_i x[n, i]·W[o, i]`. Input `[N, I]`, weight `[O, I]` (PyTorch's layout),
    /// bias `[O]`; returns `[N, O]`.
    func linearForward(input: Tensor, weight: Tensor, bias: Tensor?) -> Tensor

    /// `∂x = ∂y·W` (`[N, I]`, only when `needsInputGradient`), `∂W = ∂yᵀ·x` (`[O, I]`),
    /// `∂b = Σ_n ∂y[n, ·]` (`[O]`).
    func linearBackward(gradOutput: Tensor, input: Tensor, weight: Tensor, needsInputGradient: Bool) -> LinearGradients
}

public struct LinearGradients: Sendable {
    /// `nil` when the input gradient was not asked for (e.g. the first layer).
    public var input: Tensor?
    public var weight: Tensor
    public var bias: Tensor

    public init(input: Tensor?, weight: Tensor, bias: Tensor) {
        self.input = input
        self.weight = weight
        self.bias = bias
    }
}

extension LinearOperations {
    public func linearForward(input: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        linearForwardByGEMM(input: input, weight: weight, bias: bias)
    }

    /// `linearForward` as one `gemm`: `y = x·Wᵀ (+ b)`, the bias copied into `y` first (β = 1).
    public func linearForwardByGEMM(input: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        let (n, features, outputs) = (input.shape[0], input.shape[1], weight.shape[0])
        // Every element is written: the bias copied into each row, or the product with beta 0,
        // which overwrites C (`gemm`).
        var output = Tensor(uninitialized: [n, outputs])
        if let bias {
            output.withUnsafeMutableBufferPointer { y in
                bias.withUnsafeBufferPointer { b in
                    for row in 0..<n { (y.baseAddress! + row * outputs).update(from: b.baseAddress!, count: outputs) }
                }
            }
        }
        input.withUnsafeBufferPointer { x in
            weight.withUnsafeBufferPointer { w in
                output.withUnsafeMutableBufferPointer { y in
                    gemm(transposeA: false, transposeB: true, m: n, n: outputs, k: features,
                         alpha: 1, a: x.baseAddress!, lda: features, b: w.baseAddress!, ldb: features,
                         beta: bias == nil ? 0 : 1, c: y.baseAddress!, ldc: outputs)
                }
            }
        }
        return output
    }

    public func linearBackward(gradOutput: Tensor, input: Tensor, weight: Tensor, needsInputGradient: Bool) -> LinearGradients {
        let (n, features, outputs) = (input.shape[0], input.shape[1], weight.shape[0])
        // Both products have beta 0, which overwrites every element of C (`gemm`), even at n = 0.
        var gradWeight = Tensor(uninitialized: weight.shape)
        var gradInput: Tensor? = needsInputGradient ? Tensor(uninitialized: input.shape) : nil
        var gradBias = Tensor(zeros: [outputs])
        gradOutput.withUnsafeBufferPointer { dy in
            input.withUnsafeBufferPointer { x in
                gradWeight.withUnsafeMutableBufferPointer { dw in
                    gemm(transposeA: true, transposeB: false, m: outputs, n: features, k: n,
                         alpha: 1, a: dy.baseAddress!, lda: outputs, b: x.baseAddress!, ldb: features,
                         beta: 0, c: dw.baseAddress!, ldc: features)
                }
            }
            if gradInput != nil {
                weight.withUnsafeBufferPointer { w in
                    gradInput!.withUnsafeMutableBufferPointer { dx in
                        gemm(transposeA: false, transposeB: false, m: n, n: features, k: outputs,
                             alpha: 1, a: dy.baseAddress!, lda: outputs, b: w.baseAddress!, ldb: features,
                             beta: 0, c: dx.baseAddress!, ldc: features)
                    }
                }
            }
            gradBias.withUnsafeMutableBufferPointer { db in
                for o in 0..<outputs {
                    var sum: Double = 0
                    for row in 0..<n { sum += Double(dy[row * outputs + o]) }
                    db[o] = Float(sum)
                }
            }
        }
        return LinearGradients(input: gradInput, weight: gradWeight, bias: gradBias)
    }
}
