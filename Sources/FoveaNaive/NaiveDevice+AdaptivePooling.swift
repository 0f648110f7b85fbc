import FoveaCore

/// Adaptive average pooling by its definition (PyTorch's `AdaptiveAvgPool2d`): `x` `[N, C, H, W]`
/// → `y` `[N, C, P, Q]`, output (p, q) averaging the rows and columns `adaptiveWindow` gives.
extension NaiveDevice {
    /// `y[n,c,p,q] = mean of x[n, c, ⌊p·H/P⌋ ..< ⌈(p+1)·H/P⌉, ⌊q·W/Q⌋ ..< ⌈(q+1)·W/Q⌉]`.
    public func adaptiveAvgPool2dForward(input: Tensor, outputSize: Size2D) -> Tensor {
        let (batch, channels, height, width) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let outputShape: Shape = [batch, channels, outputSize.height, outputSize.width]
        let ix = NCHWIndex(input.shape), yx = NCHWIndex(outputShape)
        var output = Tensor(zeros: outputShape)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                for n in 0..<batch {
                    for c in 0..<channels {
                        for p in 0..<outputSize.height {
                            let rows = adaptiveWindow(p, input: height, output: outputSize.height)
                            for q in 0..<outputSize.width {
                                let columns = adaptiveWindow(q, input: width, output: outputSize.width)
                                var sum: Double = 0
                                for ih in rows {
                                    for iw in columns { sum += Double(x[ix[n, c, ih, iw]]) }
                                }
                                y[yx[n, c, p, q]] = Float(sum / Double(rows.count * columns.count))
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// `∂x[n,c,h,w] = Σ over the outputs (p, q) whose window holds (h, w) of ∂y[n,c,p,q] / (window size)`.
    public func adaptiveAvgPool2dBackward(gradOutput: Tensor, inputShape: Shape) -> Tensor {
        let (batch, channels, height, width) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let (outputHeight, outputWidth) = (gradOutput.shape[2], gradOutput.shape[3])
        let ix = NCHWIndex(inputShape), yx = NCHWIndex(gradOutput.shape)
        var sums = [Double](repeating: 0, count: inputShape.count)
        gradOutput.withUnsafeBufferPointer { dy in
            for n in 0..<batch {
                for c in 0..<channels {
                    for p in 0..<outputHeight {
                        let rows = adaptiveWindow(p, input: height, output: outputHeight)
                        for q in 0..<outputWidth {
                            let columns = adaptiveWindow(q, input: width, output: outputWidth)
                            let share = Double(dy[yx[n, c, p, q]]) / Double(rows.count * columns.count)
                            for ih in rows {
                                for iw in columns { sums[ix[n, c, ih, iw]] += share }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: inputShape, scalars: sums.map { Float($0) })
    }
}

/// The input indices adaptive pooling averages for output index `o` of `output` along an axis of
/// `input`: `⌊o·input/output⌋ ..< ⌈(o+1)·input/output⌉`.
func adaptiveWindow(_ o: Int, input: Int, output: Int) -> Range<Int> {
    (o * input / output)..<(((o + 1) * input + output - 1) / output)
}
