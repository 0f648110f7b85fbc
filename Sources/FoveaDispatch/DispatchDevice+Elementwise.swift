import FoveaCore

/// Element-wise arithmetic over GCD in chunks of consecutive elements, and channel
/// concatenation/splitting as block copies: in NCHW, image n of input i is one contiguous block
/// of `Cᵢ·H·W` floats, and so is its place in the concatenation.
extension DispatchDevice {
    /// `y[i] = a[i] + b[i]`.
    public func add(_ a: Tensor, _ b: Tensor) -> Tensor { combine(a, b, operation: "add", +) }

    /// `y[i] = a[i] · b[i]`.
    public func multiply(_ a: Tensor, _ b: Tensor) -> Tensor { combine(a, b, operation: "multiply", *) }

    /// `y[i] = f(a[i], b[i])` over chunks of consecutive elements.
    @inline(__always)
    private func combine(_ a: Tensor, _ b: Tensor, operation: String, _ f: @escaping @Sendable (Float, Float) -> Float) -> Tensor {
        ElementwiseShapes.checkEqual(a.shape, b.shape, operation: operation)
        var output = Tensor(zeros: a.shape)
        let chunks = WorkSplit.Chunks(count: a.count, threads: threadCount)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                output.withUnsafeMutableBufferPointer { y in
                    let (a, b, y) = (SendablePointer(a.baseAddress!), SendablePointer(b.baseAddress!), SendablePointer(y.baseAddress!))
                    Parallel.forEach(chunks.items, threads: threadCount) { _, item in
                        for i in chunks.range(item) { y.pointer[i] = f(a.pointer[i], b.pointer[i]) }
                    }
                }
            }
        }
        return output
    }

    /// Items are (image n, input i): each copies the block `inputs[i][n]` (`Cᵢ·H·W` floats) to
    /// offset `(n·C + C₀ + … + Cᵢ₋₁)·H·W` of the output.
    public func concatenateChannels(_ inputs: [Tensor]) -> Tensor {
        let shape = ElementwiseShapes.concatenated(inputs.map(\.shape))
        var output = Tensor(zeros: shape)
        let (batch, plane) = (shape[0], shape[2] * shape[3])
        let imageSize = shape[1] * plane
        let offsets = inputs.reduce(into: [0]) { $0.append($0.last! + $1.shape[1] * plane) }
        output.withUnsafeMutableBufferPointer { y in
            let y = SendablePointer(y.baseAddress!)
            Parallel.forEach(batch * inputs.count, threads: threadCount) { _, item in
                let (n, i) = (item / inputs.count, item % inputs.count)
                let blockSize = offsets[i + 1] - offsets[i]
                inputs[i].withUnsafeBufferPointer { x in
                    (y.pointer + n * imageSize + offsets[i]).update(from: x.baseAddress! + n * blockSize, count: blockSize)
                }
            }
        }
        return output
    }

    /// Items are the parts: part i copies, for every image n, the block of `sizes[i]·H·W` floats
    /// at offset `(n·C + sizes[0] + … + sizes[i−1])·H·W`.
    public func splitChannels(_ input: Tensor, sizes: [Int]) -> [Tensor] {
        ElementwiseShapes.checkSplit(input.shape, sizes: sizes)
        guard !sizes.isEmpty else { return [] }
        let (batch, plane) = (input.shape[0], input.shape[2] * input.shape[3])
        let (height, width, imageSize) = (input.shape[2], input.shape[3], input.shape[1] * plane)
        let offsets = sizes.reduce(into: [0]) { $0.append($0.last! + $1 * plane) }
        return input.withUnsafeBufferPointer { x in
            let x = SendablePointer(x.baseAddress!)
            return [Tensor](unsafeUninitializedCapacity: sizes.count) { parts, initialized in
                let parts = SendablePointer(parts.baseAddress!)
                Parallel.forEach(sizes.count, threads: threadCount) { _, i in
                    var part = Tensor(zeros: [batch, sizes[i], height, width])
                    let blockSize = offsets[i + 1] - offsets[i]
                    part.withUnsafeMutableBufferPointer { y in
                        for n in 0..<batch {
                            (y.baseAddress! + n * blockSize).update(from: x.pointer + n * imageSize + offsets[i], count: blockSize)
                        }
                    }
                    (parts.pointer + i).initialize(to: part)
                }
                initialized = sizes.count
            }
        }
    }
}
