import Foundation

/// The loss of a classifier: softmax cross-entropy averaged over the batch, with optional label
/// smoothing (PyTorch's `nn.CrossEntropyLoss(label_smoothing: ε)`).
///
/// For logits `z` `[N, C]` and labels `yₙ`: `p = softmax(z)`, target `qₙ = (1−ε)·onehot(yₙ) + ε/C`,
/// `L = −(1/N) Σₙ Σ_c q_nc · log p_nc`, and `∂L/∂z = (p − q)/N`.
public struct SoftmaxCrossEntropy: Sendable {
    public var labelSmoothing: Float

    /// Without label smoothing.
    public init() { labelSmoothing = 0 }

    /// - Throws: `.invalidArgument` unless `labelSmoothing` is in [0, 1).
    public init(labelSmoothing: Float) throws {
        try ArgumentCheck("SoftmaxCrossEntropy").fraction(labelSmoothing, "labelSmoothing", includingOne: false)
        self.labelSmoothing = labelSmoothing
    }

    /// The loss, its gradient with respect to the logits, and how many rows were classified right.
    public struct Result: Sendable {
        public var loss: Float
        public var gradient: Tensor
        public var correct: Int
    }

    /// - Throws: `FoveaError` if the logits are not `[N, C]`, the label count is not N, or a label
    ///   is outside `0..<C`.
    public func callAsFunction(logits: Tensor, labels: [Int], device: any Device) throws -> Result {
        guard logits.shape.rank == 2 else {
            throw FoveaError.shapeMismatch("softmaxCrossEntropy: logits must be [N, classes], got \(logits.shape)")
        }
        let (n, classes) = (logits.shape[0], logits.shape[1])
        guard labels.count == n else {
            throw FoveaError.shapeMismatch("softmaxCrossEntropy: \(n) rows of logits but \(labels.count) labels")
        }
        if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) {
            throw FoveaError.invalidArgument("softmaxCrossEntropy: label \(bad) is outside 0..<\(classes)")
        }
        let logProbabilities = device.softmaxForward(logits: logits, log: true)
        var gradient = Tensor(zeros: logits.shape)
        var total: Double = 0
        var correct = 0
        let smoothing = labelSmoothing
        let offTarget = smoothing / Float(classes)
        let onTarget = 1 - smoothing + offTarget
        logProbabilities.withUnsafeBufferPointer { logp in
            gradient.withUnsafeMutableBufferPointer { grad in
                for row in 0..<n {
                    let base = row * classes
                    var best = 0
                    for c in 0..<classes {
                        let target = c == labels[row] ? onTarget : offTarget
                        total -= Double(target) * Double(logp[base + c])
                        grad[base + c] = (exp(logp[base + c]) - target) / Float(n)
                        if logp[base + c] > logp[base + best] { best = c }
                    }
                    if best == labels[row] { correct += 1 }
                }
            }
        }
        return Result(loss: Float(total / Double(max(n, 1))), gradient: gradient, correct: correct)
    }
}

