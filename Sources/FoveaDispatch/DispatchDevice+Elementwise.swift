import FoveaCore

/// Element-wise arithmetic over GCD in chunks of consecutive elements, and channel
/// concatenation/splitting as block copies: in NCHW, image n of input i is one contiguous block
/// of `Cᵢ·H·W` floats, and so is its place in the concatenation.
extension DispatchDevice {
    /// `y[i] = a[i] + b[i]`.
    public func add(_ a: Tensor, _ b: Tensor) -> Tensor { combine(a, b, .add) }

    /// `y[i] = a[i] · b[i]`.
    public func multiply(_ a: Tensor, _ b: Tensor) -> Tensor { combine(a, b, .multiply) }

    /// `y = epilogue(y + residual)` in place, over chunks of consecutive elements (a residual
    /// convolution's sum and activation after an algorithm that does not add it per tile).
    func addResidual(_ residual: Tensor, to output: inout Tensor, epilogue: ConvolutionEpilogue) {
        ElementwiseShapes.checkEqual(output.shape, residual.shape, operation: "add")
        let chunks = WorkSplit.Chunks(count: output.count, threads: threadCount)
        residual.withUnsafeBufferPointer { r in
            output.withUnsafeMutableBufferPointer { y in
                let (r, y) = (SendablePointer(r.baseAddress!), SendablePointer(y.baseAddress!))
                Parallel.forEach(chunks.items, threads: threadCount) { _, item in
                    let range = chunks.range(item)
                    epilogue.apply(row: y.pointer + range.lowerBound, count: range.count, bias: 0, adding: r.pointer + range.lowerBound)
                }
            }
        }
    }

    private enum Combination: String { case add, multiply }

    /// `y[i] = a[i] ∘ b[i]` over chunks of consecutive elements, 16 at a time.
    private func combine(_ a: Tensor, _ b: Tensor, _ operation: Combination) -> Tensor {
        ElementwiseShapes.checkEqual(a.shape, b.shape, operation: operation.rawValue)
        var output = Tensor(uninitialized: a.shape)  // the chunks cover every element
        let chunks = WorkSplit.Chunks(count: a.count, threads: threadCount)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                output.withUnsafeMutableBufferPointer { y in
                    let (a, b, y) = (SendablePointer(a.baseAddress!), SendablePointer(b.baseAddress!), SendablePointer(y.baseAddress!))
                    Parallel.forEach(chunks.items, threads: threadCount) { _, item in
                        switch operation {
                        case .add: Self.combine(a.pointer, b.pointer, y.pointer, chunks.range(item), +, +)
                        case .multiply: Self.combine(a.pointer, b.pointer, y.pointer, chunks.range(item), *, *)
                        }
                    }
                }
            }
        }
        return output
    }

    @inline(__always)
    private static func combine(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                _ range: Range<Int>, _ vector: (SIMD16<Float>, SIMD16<Float>) -> SIMD16<Float>,
                                _ scalar: (Float, Float) -> Float) {
        var i = range.lowerBound
        while i + 16 <= range.upperBound {
            let (x, z) = (UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self), UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self))
            UnsafeMutableRawPointer(y + i).storeBytes(of: vector(x, z), as: SIMD16<Float>.self)
            i += 16
        }
        while i < range.upperBound {
            y[i] = scalar(a[i], b[i])
            i += 1
        }
    }

    /// Items are (image n, input i): each copies the block `inputs[i][n]` (`Cᵢ·H·W` floats) to
    /// offset `(n·C + C₀ + … + Cᵢ₋₁)·H·W` of the output.
    public func concatenateChannels(_ inputs: [Tensor]) -> Tensor {
        let shape = ElementwiseShapes.concatenated(inputs.map(\.shape))
        var output = Tensor(uninitialized: shape)  // the blocks cover every element
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
