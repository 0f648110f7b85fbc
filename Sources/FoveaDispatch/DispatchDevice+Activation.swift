import FoveaCore

/// Activations over GCD, in chunks of consecutive elements (`WorkSplit.Chunks`). The activation
/// is switched on once per call, outside the loops. Semantics are those of `NaiveDevice`:
/// ReLU `x < 0 ? 0 : x` (a NaN propagates), leaky ReLU `x > 0 ? x : slope·x`; derivatives
/// `x > 0 ? 1 : 0` and `x > 0 ? 1 : slope`.
extension DispatchDevice {
    public func activationForward(_ activation: Activation, input: Tensor) -> Tensor {
        var output = Tensor(uninitialized: input.shape)  // the chunks cover every element
        let chunks = WorkSplit.Chunks(count: input.count, threads: threadCount)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                let (x, y) = (SendablePointer(x.baseAddress!), SendablePointer(y.baseAddress!))
                switch activation {
                case .relu:
                    Parallel.forEach(chunks.items, threads: threadCount) { _, item in
                        for i in chunks.range(item) {
                            let value = x.pointer[i]
                            y.pointer[i] = value < 0 ? 0 : value
                        }
                    }
                case .leakyReLU(let slope):
                    Parallel.forEach(chunks.items, threads: threadCount) { _, item in
                        for i in chunks.range(item) {
                            let value = x.pointer[i]
                            y.pointer[i] = value > 0 ? value : slope * value
                        }
                    }
                }
            }
        }
        return output
    }

    public func activationBackward(_ activation: Activation, gradOutput: Tensor, input: Tensor) -> Tensor {
        var gradInput = Tensor(zeros: input.shape)
        let chunks = WorkSplit.Chunks(count: input.count, threads: threadCount)
        let negativeSlope: Float = switch activation {
        case .relu: 0
        case .leakyReLU(let slope): slope
        }
        input.withUnsafeBufferPointer { x in
            gradOutput.withUnsafeBufferPointer { dy in
                gradInput.withUnsafeMutableBufferPointer { dx in
                    let (x, dy, dx) = (SendablePointer(x.baseAddress!), SendablePointer(dy.baseAddress!), SendablePointer(dx.baseAddress!))
                    Parallel.forEach(chunks.items, threads: threadCount) { _, item in
                        for i in chunks.range(item) {
                            dx.pointer[i] = dy.pointer[i] * (x.pointer[i] > 0 ? 1 : negativeSlope)
                        }
                    }
                }
            }
        }
        return gradInput
    }
}
