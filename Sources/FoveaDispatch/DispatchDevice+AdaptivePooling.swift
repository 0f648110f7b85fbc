import FoveaCore

/// Adaptive average pooling over GCD: `[N, C, H, W]` → `[N, C, P, Q]`, output (p, q) averaging
/// rows `⌊p·H/P⌋ ..< ⌈(p+1)·H/P⌉` and columns `⌊q·W/Q⌋ ..< ⌈(q+1)·W/Q⌉`. Split as max and
/// average pooling are (forward by plane and row block, backward by plane), so results do not
/// depend on the thread count.
extension DispatchDevice {
    public func adaptiveAvgPool2dForward(input: Tensor, outputSize: Size2D) -> Tensor {
        let (batch, channels, height, width) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        var output = Tensor(zeros: [batch, channels, outputSize.height, outputSize.width])
        guard output.count > 0 else { return output }
        let rows = PoolWindows(adaptiveInput: height, outputs: outputSize.height)
        let columns = PoolWindows(adaptiveInput: width, outputs: outputSize.width)
        let (inputPlane, outputWidth) = (height * width, outputSize.width)
        let outputPlane = outputSize.height * outputSize.width
        let split = WorkSplit.PlaneRows(planes: batch * channels, rows: outputSize.height, threads: threadCount)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                let (x, y) = (SendablePointer(x.baseAddress!), SendablePointer(y.baseAddress!))
                Parallel.forEach(split.items, threads: threadCount) { _, item in
                    let (plane, outputRows) = split.block(item)
                    let source = x.pointer + plane * inputPlane
                    for p in outputRows {
                        let (firstRow, rowCount) = (rows.first[p], rows.count[p])
                        for q in 0..<outputWidth {
                            let (firstColumn, columnCount) = (columns.first[q], columns.count[q])
                            var sum: Float = 0
                            for h in firstRow..<(firstRow + rowCount) {
                                let row = source + h * width
                                for w in firstColumn..<(firstColumn + columnCount) { sum += row[w] }
                            }
                            y.pointer[plane * outputPlane + p * outputWidth + q] = sum / Float(rowCount * columnCount)
                        }
                    }
                }
            }
        }
        return output
    }

    public func adaptiveAvgPool2dBackward(gradOutput: Tensor, inputShape: Shape) -> Tensor {
        let (height, width) = (inputShape[2], inputShape[3])
        let (outputHeight, outputWidth) = (gradOutput.shape[2], gradOutput.shape[3])
        var gradInput = Tensor(zeros: inputShape)
        let planes = inputShape[0] * inputShape[1]
        guard planes > 0, gradOutput.count > 0 else { return gradInput }
        let rows = PoolWindows(adaptiveInput: height, outputs: outputHeight)
        let columns = PoolWindows(adaptiveInput: width, outputs: outputWidth)
        let (inputPlane, outputPlane) = (height * width, outputHeight * outputWidth)
        gradOutput.withUnsafeBufferPointer { dy in
            gradInput.withUnsafeMutableBufferPointer { dx in
                let (dy, dx) = (SendablePointer(dy.baseAddress!), SendablePointer(dx.baseAddress!))
                Parallel.forEach(planes, threads: threadCount) { _, plane in
                    let target = dx.pointer + plane * inputPlane
                    for p in 0..<outputHeight {
                        let (firstRow, rowCount) = (rows.first[p], rows.count[p])
                        for q in 0..<outputWidth {
                            let (firstColumn, columnCount) = (columns.first[q], columns.count[q])
                            let share = dy.pointer[plane * outputPlane + p * outputWidth + q] / Float(rowCount * columnCount)
                            for h in firstRow..<(firstRow + rowCount) {
                                let row = target + h * width
                                for w in firstColumn..<(firstColumn + columnCount) { row[w] += share }
                            }
                        }
                    }
                }
            }
        }
        return gradInput
    }
}
