import FoveaCore

extension NaiveDevice {
    /// `y[n,k,p,q] = bias[k] + Σ_{c,r,s} x[n, g·C/G + c, p·sh − ph + r·dh, q·sw − pw + s·dw] · w[k,c,r,s]`,
    /// where g = k / (K/G) is the group of output channel k.
    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, geometry g: Conv2DGeometry) -> Tensor {
        let ix = NCHWIndex(g.inputShape), wx = NCHWIndex(g.weightShape), yx = NCHWIndex(g.outputShape)
        let biasValues = bias?.scalars
        var output = Tensor(zeros: g.outputShape)
        input.withUnsafeBufferPointer { x in
            weight.withUnsafeBufferPointer { w in
                output.withUnsafeMutableBufferPointer { y in
                    for n in 0..<g.batch {
                        for k in 0..<g.outputChannels {
                            let group = k / g.outputChannelsPerGroup
                            for p in 0..<g.outputHeight {
                                for q in 0..<g.outputWidth {
                                    var sum: Double = biasValues.map { Double($0[k]) } ?? 0
                                    for c in 0..<g.inputChannelsPerGroup {
                                        for r in 0..<g.kernelHeight {
                                            for s in 0..<g.kernelWidth {
                                                guard let (ih, iw) = g.inputPosition(p, q, r, s) else { continue }
                                                let channel = group * g.inputChannelsPerGroup + c
                                                sum += Double(x[ix[n, channel, ih, iw]]) * Double(w[wx[k, c, r, s]])
                                            }
                                        }
                                    }
                                    y[yx[n, k, p, q]] = Float(sum)
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// `∂x[n, c, ih, iw] = Σ over every (k, p, q, r, s) whose tap reads (ih, iw) of ∂y[n,k,p,q] · w[k,c,r,s]` —
    /// the forward loop nest with the roles of x and y exchanged.
    public func conv2dBackwardData(gradOutput: Tensor, weight: Tensor, geometry g: Conv2DGeometry) -> Tensor {
        let ix = NCHWIndex(g.inputShape), wx = NCHWIndex(g.weightShape), yx = NCHWIndex(g.outputShape)
        var sums = [Double](repeating: 0, count: g.inputShape.count)
        gradOutput.withUnsafeBufferPointer { dy in
            weight.withUnsafeBufferPointer { w in
                for n in 0..<g.batch {
                    for k in 0..<g.outputChannels {
                        let group = k / g.outputChannelsPerGroup
                        for p in 0..<g.outputHeight {
                            for q in 0..<g.outputWidth {
                                let gradient = Double(dy[yx[n, k, p, q]])
                                for c in 0..<g.inputChannelsPerGroup {
                                    for r in 0..<g.kernelHeight {
                                        for s in 0..<g.kernelWidth {
                                            guard let (ih, iw) = g.inputPosition(p, q, r, s) else { continue }
                                            let channel = group * g.inputChannelsPerGroup + c
                                            sums[ix[n, channel, ih, iw]] += gradient * Double(w[wx[k, c, r, s]])
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: g.inputShape, scalars: sums.map { Float($0) })
    }

    /// `∂w[k,c,r,s] = Σ_{n,p,q} ∂y[n,k,p,q] · x[n, g·C/G + c, p·sh − ph + r·dh, q·sw − pw + s·dw]`,
    /// `∂b[k] = Σ_{n,p,q} ∂y[n,k,p,q]`.
    public func conv2dBackwardFilter(gradOutput: Tensor, input: Tensor, geometry g: Conv2DGeometry) -> Conv2DFilterGradients {
        let ix = NCHWIndex(g.inputShape), wx = NCHWIndex(g.weightShape), yx = NCHWIndex(g.outputShape)
        var gradWeight = Tensor(zeros: g.weightShape)
        var gradBias = Tensor(zeros: [g.outputChannels])
        gradOutput.withUnsafeBufferPointer { dy in
            input.withUnsafeBufferPointer { x in
                gradWeight.withUnsafeMutableBufferPointer { dw in
                    gradBias.withUnsafeMutableBufferPointer { db in
                        for k in 0..<g.outputChannels {
                            let group = k / g.outputChannelsPerGroup
                            for c in 0..<g.inputChannelsPerGroup {
                                let channel = group * g.inputChannelsPerGroup + c
                                for r in 0..<g.kernelHeight {
                                    for s in 0..<g.kernelWidth {
                                        var sum: Double = 0
                                        for n in 0..<g.batch {
                                            for p in 0..<g.outputHeight {
                                                for q in 0..<g.outputWidth {
                                                    guard let (ih, iw) = g.inputPosition(p, q, r, s) else { continue }
                                                    sum += Double(dy[yx[n, k, p, q]]) * Double(x[ix[n, channel, ih, iw]])
                                                }
                                            }
                                        }
                                        dw[wx[k, c, r, s]] = Float(sum)
                                    }
                                }
                            }
                            var biasSum: Double = 0
                            for n in 0..<g.batch {
                                for p in 0..<g.outputHeight {
                                    for q in 0..<g.outputWidth { biasSum += Double(dy[yx[n, k, p, q]]) }
                                }
                            }
                            db[k] = Float(biasSum)
                        }
                    }
                }
            }
        }
        return Conv2DFilterGradients(weight: gradWeight, bias: gradBias)
    }
}

/// Flat row-major index of a 4-D position: `[a, b, c, d] → ((a·B + b)·C + c)·D + d`.
struct NCHWIndex {
    let b: Int, c: Int, d: Int
    init(_ shape: Shape) { (b, c, d) = (shape[1], shape[2], shape[3]) }
    @inline(__always) subscript(_ i0: Int, _ i1: Int, _ i2: Int, _ i3: Int) -> Int { ((i0 * b + i1) * c + i2) * d + i3 }
}

extension Conv2DGeometry {
    /// The input position that kernel tap (r, s) of output (p, q) reads, or nil in the padding:
    /// `(p·sh − ph + r·dh, q·sw − pw + s·dw)`.
    @inline(__always) func inputPosition(_ p: Int, _ q: Int, _ r: Int, _ s: Int) -> (Int, Int)? {
        let ih = p * options.stride.height - options.padding.height + r * options.dilation.height
        let iw = q * options.stride.width - options.padding.width + s * options.dilation.width
        guard ih >= 0, ih < inputHeight, iw >= 0, iw < inputWidth else { return nil }
        return (ih, iw)
    }
}
