import Foundation
import FoveaCore

extension NaiveDevice {
    /// Per row r of `[N, C]` logits z, with `m = max_j z[r, j]` and `S = Σ_j exp(z[r, j] − m)`:
    /// `y[r, i] = exp(z[r, i] − m) / S`, or with `log`, `y[r, i] = z[r, i] − m − log S`.
    public func softmaxForward(logits: Tensor, log: Bool) -> Tensor {
        let (rows, columns) = (logits.shape[0], logits.shape[1])
        var output = Tensor(zeros: logits.shape)
        logits.withUnsafeBufferPointer { z in
            output.withUnsafeMutableBufferPointer { y in
                for r in 0..<rows {
                    var m = -Double.infinity
                    for i in 0..<columns { m = max(m, Double(z[r * columns + i])) }
                    var sum: Double = 0
                    for i in 0..<columns { sum += exp(Double(z[r * columns + i]) - m) }
                    for i in 0..<columns {
                        let shifted = Double(z[r * columns + i]) - m
                        y[r * columns + i] = Float(log ? shifted - Foundation.log(sum) : exp(shifted) / sum)
                    }
                }
            }
        }
        return output
    }

    /// Per row, from the forward output y: softmax `∂z[i] = y[i]·(∂y[i] − Σ_j ∂y[j]·y[j])`;
    /// log-softmax `∂z[i] = ∂y[i] − exp(y[i])·Σ_j ∂y[j]`.
    public func softmaxBackward(gradOutput: Tensor, output: Tensor, log: Bool) -> Tensor {
        let (rows, columns) = (output.shape[0], output.shape[1])
        var gradLogits = Tensor(zeros: output.shape)
        gradOutput.withUnsafeBufferPointer { dy in
            output.withUnsafeBufferPointer { y in
                gradLogits.withUnsafeMutableBufferPointer { dz in
                    for r in 0..<rows {
                        var sum: Double = 0
                        for i in 0..<columns {
                            let index = r * columns + i
                            sum += log ? Double(dy[index]) : Double(dy[index]) * Double(y[index])
                        }
                        for i in 0..<columns {
                            let index = r * columns + i
                            let (gradient, value) = (Double(dy[index]), Double(y[index]))
                            dz[index] = Float(log ? gradient - exp(value) * sum : value * (gradient - sum))
                        }
                    }
                }
            }
        }
        return gradLogits
    }
}
