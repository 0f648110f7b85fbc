import FoveaCore

/// Element-wise arithmetic and concatenation along channels (NCHW).
extension NaiveDevice {
    /// `y[i] = a[i] + b[i]`.
    public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        ElementwiseShapes.checkEqual(a.shape, b.shape, operation: "add")
        return combine(a, b) { $0 + $1 }
    }

    /// `y[i] = a[i] · b[i]`.
    public func multiply(_ a: Tensor, _ b: Tensor) -> Tensor {
        ElementwiseShapes.checkEqual(a.shape, b.shape, operation: "multiply")
        return combine(a, b) { $0 * $1 }
    }

    /// `y[n, offsetᵢ + c, h, w] = inputs[i][n, c, h, w]`, with `offsetᵢ = C₀ + … + Cᵢ₋₁`.
    public func concatenateChannels(_ inputs: [Tensor]) -> Tensor {
        let shape = ElementwiseShapes.concatenated(inputs.map(\.shape))
        let ox = NCHWIndex(shape)
        var output = Tensor(zeros: shape)
        output.withUnsafeMutableBufferPointer { y in
            var offset = 0
            for part in inputs {
                let px = NCHWIndex(part.shape)
                part.withUnsafeBufferPointer { x in
                    for n in 0..<shape[0] {
                        for c in 0..<part.shape[1] {
                            for h in 0..<shape[2] {
                                for w in 0..<shape[3] { y[ox[n, offset + c, h, w]] = x[px[n, c, h, w]] }
                            }
                        }
                    }
                }
                offset += part.shape[1]
            }
        }
        return output
    }

    /// `parts[i][n, c, h, w] = x[n, offsetᵢ + c, h, w]`, part i with `sizes[i]` channels.
    public func splitChannels(_ input: Tensor, sizes: [Int]) -> [Tensor] {
        ElementwiseShapes.checkSplit(input.shape, sizes: sizes)
        let ix = NCHWIndex(input.shape)
        var parts: [Tensor] = []
        var offset = 0
        input.withUnsafeBufferPointer { x in
            for size in sizes {
                let shape: Shape = [input.shape[0], size, input.shape[2], input.shape[3]]
                let px = NCHWIndex(shape)
                var part = Tensor(zeros: shape)
                part.withUnsafeMutableBufferPointer { y in
                    for n in 0..<shape[0] {
                        for c in 0..<size {
                            for h in 0..<shape[2] {
                                for w in 0..<shape[3] { y[px[n, c, h, w]] = x[ix[n, offset + c, h, w]] }
                            }
                        }
                    }
                }
                parts.append(part)
                offset += size
            }
        }
        return parts
    }

    /// `y[i] = operation(a[i], b[i])`.
    private func combine(_ a: Tensor, _ b: Tensor, _ operation: (Float, Float) -> Float) -> Tensor {
        var output = Tensor(zeros: a.shape)
        a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { z in
                output.withUnsafeMutableBufferPointer { y in
                    for i in y.indices { y[i] = operation(x[i], z[i]) }
                }
            }
        }
        return output
    }
}
