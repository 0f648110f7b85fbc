import FoveaCore

/// Max and average pooling by their definitions. Each (n, c) plane is pooled on its own; `x` is
/// `[N, C, H, W]`, `y` is `[N, C, P, Q]` (`geometry.outputShape`), and tap (i, j) of output (p, q)
/// reads input `(p·sh − ph + i·dh, q·sw − pw + j·dw)` when that is inside the image.
extension NaiveDevice {
    /// `y[n,c,p,q] = max over the in-image taps of x` (padding is −∞). The first in-image tap in
    /// row-major window order is taken, then replaced by any tap that is strictly larger or NaN —
    /// so ties keep the first and a NaN propagates (several NaNs: the last, as PyTorch).
    /// A window with no in-image tap (possible only with dilation) gives −∞ and argmax −1.
    public func maxPool2dForward(input: Tensor, geometry g: Pool2DGeometry) -> MaxPool2DResult {
        let ix = NCHWIndex(g.inputShape), yx = NCHWIndex(g.outputShape)
        var output = Tensor(zeros: g.outputShape)
        var argmax = [Int32](repeating: -1, count: g.outputShape.count)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                for n in 0..<g.batch {
                    for c in 0..<g.channels {
                        for p in 0..<g.outputHeight {
                            for q in 0..<g.outputWidth {
                                var best = -Float.infinity
                                var chosen = -1
                                for i in 0..<g.options.kernel.height {
                                    for j in 0..<g.options.kernel.width {
                                        guard let (ih, iw) = g.inputPosition(p, q, i, j) else { continue }
                                        let value = x[ix[n, c, ih, iw]]
                                        if chosen < 0 || value > best || value.isNaN {
                                            best = value
                                            chosen = ih * g.inputWidth + iw
                                        }
                                    }
                                }
                                y[yx[n, c, p, q]] = best
                                argmax[yx[n, c, p, q]] = Int32(chosen)
                            }
                        }
                    }
                }
            }
        }
        return MaxPool2DResult(output: output, argmax: argmax)
    }

    /// `∂x[n,c,h,w] = Σ over the outputs (p, q) of plane (n, c) with argmax = h·W + w of ∂y[n,c,p,q]`
    /// (argmax −1, an all-padding window, routes nowhere).
    public func maxPool2dBackward(gradOutput: Tensor, argmax: [Int32], geometry g: Pool2DGeometry) -> Tensor {
        let yx = NCHWIndex(g.outputShape)
        let plane = g.inputHeight * g.inputWidth
        var sums = [Double](repeating: 0, count: g.inputShape.count)
        gradOutput.withUnsafeBufferPointer { dy in
            for n in 0..<g.batch {
                for c in 0..<g.channels {
                    let planeStart = (n * g.channels + c) * plane
                    for p in 0..<g.outputHeight {
                        for q in 0..<g.outputWidth {
                            let chosen = Int(argmax[yx[n, c, p, q]])
                            guard chosen >= 0 else { continue }
                            sums[planeStart + chosen] += Double(dy[yx[n, c, p, q]])
                        }
                    }
                }
            }
        }
        return Tensor(shape: g.inputShape, scalars: sums.map { Float($0) })
    }

    /// `y[n,c,p,q] = (Σ over the in-image taps of x) / divisor(p, q)`, where `divisor` is
    /// `kH·kW` when `countIncludesPadding` (padding taps count as zeros; with dilation every tap
    /// counts), else the number of in-image taps. A window with no in-image tap gives 0.
    public func avgPool2dForward(input: Tensor, geometry g: Pool2DGeometry) -> Tensor {
        let ix = NCHWIndex(g.inputShape), yx = NCHWIndex(g.outputShape)
        var output = Tensor(zeros: g.outputShape)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                for n in 0..<g.batch {
                    for c in 0..<g.channels {
                        for p in 0..<g.outputHeight {
                            for q in 0..<g.outputWidth {
                                var sum: Double = 0
                                for i in 0..<g.options.kernel.height {
                                    for j in 0..<g.options.kernel.width {
                                        guard let (ih, iw) = g.inputPosition(p, q, i, j) else { continue }
                                        sum += Double(x[ix[n, c, ih, iw]])
                                    }
                                }
                                let divisor = g.averageDivisor(p, q)
                                y[yx[n, c, p, q]] = divisor == 0 ? 0 : Float(sum / Double(divisor))
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// `∂x[n,c,h,w] = Σ over the outputs (p, q) with an in-image tap on (h, w) of ∂y[n,c,p,q] / divisor(p, q)`.
    public func avgPool2dBackward(gradOutput: Tensor, geometry g: Pool2DGeometry) -> Tensor {
        let ix = NCHWIndex(g.inputShape), yx = NCHWIndex(g.outputShape)
        var sums = [Double](repeating: 0, count: g.inputShape.count)
        gradOutput.withUnsafeBufferPointer { dy in
            for n in 0..<g.batch {
                for c in 0..<g.channels {
                    for p in 0..<g.outputHeight {
                        for q in 0..<g.outputWidth {
                            let divisor = g.averageDivisor(p, q)
                            guard divisor > 0 else { continue }
                            let share = Double(dy[yx[n, c, p, q]]) / Double(divisor)
                            for i in 0..<g.options.kernel.height {
                                for j in 0..<g.options.kernel.width {
                                    guard let (ih, iw) = g.inputPosition(p, q, i, j) else { continue }
                                    sums[ix[n, c, ih, iw]] += share
                                }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: g.inputShape, scalars: sums.map { Float($0) })
    }
}

extension Pool2DGeometry {
    /// The input position tap (i, j) of output (p, q) reads, or nil in the padding:
    /// `(p·sh − ph + i·dh, q·sw − pw + j·dw)`.
    @inline(__always) func inputPosition(_ p: Int, _ q: Int, _ i: Int, _ j: Int) -> (Int, Int)? {
        let ih = p * options.stride.height - options.padding.height + i * options.dilation.height
        let iw = q * options.stride.width - options.padding.width + j * options.dilation.width
        guard ih >= 0, ih < inputHeight, iw >= 0, iw < inputWidth else { return nil }
        return (ih, iw)
    }

    /// Average pooling's divisor for output (p, q): `kH·kW` when `countIncludesPadding`, else the
    /// number of the window's taps inside the image.
    func averageDivisor(_ p: Int, _ q: Int) -> Int {
        if options.countIncludesPadding { return options.kernel.height * options.kernel.width }
        var inside = 0
        for i in 0..<options.kernel.height {
            for j in 0..<options.kernel.width where inputPosition(p, q, i, j) != nil { inside += 1 }
        }
        return inside
    }
}
