/// The dimensions of a tensor, outermost first. Image tensors are NCHW:
/// `[batch, channels, height, width]`; a convolution weight is `[outChannels, inChannels/groups, kh, kw]`.
public struct Shape: Hashable, Sendable, ExpressibleByArrayLiteral, CustomStringConvertible {
    public var dimensions: [Int]

    public init(_ dimensions: [Int]) {
        fatalUnless(dimensions.allSatisfy { $0 >= 0 }, "Shape dimensions must be non-negative, got \(dimensions)")
        self.dimensions = dimensions
    }

    public init(arrayLiteral elements: Int...) { self.init(elements) }

    /// The number of dimensions.
    public var rank: Int { dimensions.count }

    /// The number of elements: the product of the dimensions (1 for a scalar shape `[]`).
    public var count: Int { dimensions.reduce(1, *) }

    public subscript(axis: Int) -> Int {
        get { dimensions[axis] }
        set { dimensions[axis] = newValue }
    }

    /// Row-major strides: `strides[i]` is how many elements apart two neighbours along axis `i` are.
    public var strides: [Int] {
        var result = [Int](repeating: 1, count: rank)
        var step = 1
        for axis in (0..<rank).reversed() {
            result[axis] = step
            step *= dimensions[axis]
        }
        return result
    }

    /// `[2, 3, 224, 224]` prints as `2×3×224×224`.
    public var description: String {
        dimensions.isEmpty ? "scalar" : dimensions.map(String.init).joined(separator: "×")
    }
}
