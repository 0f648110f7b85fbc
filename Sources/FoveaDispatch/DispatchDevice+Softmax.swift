import Foundation
import FoveaCore

/// Softmax and log-softmax on GCD workers, parallel over blocks of rows of the `[N, C]` input.
/// Each row is computed by one worker in a fixed order (row sums in `Double`), so the results
/// are bit-identical at any thread count.
extension DispatchDevice {
    /// Per row, with `m = max_j z[j]` and `S = Σ_j exp(z[j] − m)`: `y[i] = exp(z[i] − m)/S`, or
    /// with `log`, `y[i] = (z[i] − m) − log S`. Subtracting m keeps every exponent ≤ 0.
    public func softmaxForward(logits: Tensor, log: Bool) -> Tensor {
        let rows = RowBlocks(logits.shape)
        var output = Tensor(zeros: logits.shape)
        logits.withUnsafeBufferPointer { zBuffer in
            output.withUnsafeMutableBufferPointer { yBuffer in
                let z = SendablePointer(zBuffer.baseAddress!), y = SendablePointer(yBuffer.baseAddress!)
                Parallel.forEach(rows.count, threads: threadCount) { _, item in
                    for row in rows[item] {
                        let (zr, yr) = (z.pointer + row * rows.columns, y.pointer + row * rows.columns)
                        var m = zr[0]
                        for i in 1..<rows.columns { m = max(m, zr[i]) }
                        var sum: Double = 0
                        if log {
                            for i in 0..<rows.columns { sum += Double(exp(zr[i] - m)) }
                            let logSum = Float(Foundation.log(sum))
                            for i in 0..<rows.columns { yr[i] = (zr[i] - m) - logSum }
                        } else {
                            for i in 0..<rows.columns {
                                yr[i] = exp(zr[i] - m)
                                sum += Double(yr[i])
                            }
                            let inverse = Float(1 / sum)
                            for i in 0..<rows.columns { yr[i] *= inverse }
                        }
                    }
                }
            }
        }
        return output
    }

    /// Per row, from the forward output y: softmax `∂z[i] = y[i]·(∂y[i] − Σ_j ∂y[j]·y[j])`;
    /// log-softmax `∂z[i] = ∂y[i] − exp(y[i])·Σ_j ∂y[j]`.
    public func softmaxBackward(gradOutput: Tensor, output: Tensor, log: Bool) -> Tensor {
        let rows = RowBlocks(output.shape)
        var gradLogits = Tensor(zeros: output.shape)
        gradOutput.withUnsafeBufferPointer { dyBuffer in
            output.withUnsafeBufferPointer { yBuffer in
                gradLogits.withUnsafeMutableBufferPointer { dzBuffer in
                    let dy = SendablePointer(dyBuffer.baseAddress!), y = SendablePointer(yBuffer.baseAddress!)
                    let dz = SendablePointer(dzBuffer.baseAddress!)
                    Parallel.forEach(rows.count, threads: threadCount) { _, item in
                        for row in rows[item] {
                            let offset = row * rows.columns
                            let (dyr, yr, dzr) = (dy.pointer + offset, y.pointer + offset, dz.pointer + offset)
                            var sum: Double = 0
                            if log {
                                for i in 0..<rows.columns { sum += Double(dyr[i]) }
                                let total = Float(sum)
                                for i in 0..<rows.columns { dzr[i] = dyr[i] - exp(yr[i]) * total }
                            } else {
                                for i in 0..<rows.columns { sum += Double(dyr[i]) * Double(yr[i]) }
                                let dot = Float(sum)
                                for i in 0..<rows.columns { dzr[i] = yr[i] * (dyr[i] - dot) }
                            }
                        }
                    }
                }
            }
        }
        return gradLogits
    }
}

/// The work items of a row-wise operation on `[N, C]`: blocks of whole rows of about 4096
/// values each (at least one row), so that short rows are not handed out one by one.
struct RowBlocks: Sendable {
    let rows: Int, columns: Int, rowsPerBlock: Int

    init(_ shape: Shape) {
        (rows, columns) = (shape[0], shape[1])
        rowsPerBlock = max(1, 4096 / max(columns, 1))
    }

    /// The number of blocks; 0 when there is nothing to compute (no rows or no columns).
    var count: Int { columns == 0 ? 0 : (rows + rowsPerBlock - 1) / rowsPerBlock }

    subscript(block: Int) -> Range<Int> { (block * rowsPerBlock)..<min((block + 1) * rowsPerBlock, rows) }
}
