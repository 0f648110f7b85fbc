/// An n-dimensional array of `Float`, stored contiguously in row-major order (NCHW for images)
/// in 64-byte-aligned memory.
///
/// `Tensor` has **value semantics**: assigning a tensor to another variable shares the storage
/// until one of them is mutated, at which point the mutated one copies (copy-on-write, like
/// `Array`). So `var b = a; b[0] = 1` never changes `a`.
public struct Tensor: @unchecked Sendable, CustomStringConvertible {
    /// The dimensions; `shape.count == count`.
    public private(set) var shape: Shape
    @usableFromInline internal var storage: TensorStorage

    /// A tensor of zeros.
    public init(zeros shape: Shape) {
        self.shape = shape
        self.storage = TensorStorage(count: shape.count)
    }

    /// A tensor whose elements are unspecified until written: for an operation's output that it
    /// overwrites completely (a convolution's GEMM with beta 0), saving the clearing pass.
    /// Reading an element before writing it gives an arbitrary value.
    public init(uninitialized shape: Shape) {
        self.shape = shape
        self.storage = TensorStorage(count: shape.count, zeroed: false)
    }

    /// A tensor holding `scalars` in row-major order. `scalars.count` must equal `shape.count`.
    public init(shape: Shape, scalars: [Float]) {
        fatalUnless(
            scalars.count == shape.count,
            "Tensor(shape: \(shape), scalars:) needs \(shape.count) scalars, got \(scalars.count)")
        self.init(zeros: shape)
        scalars.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { storage.pointer.update(from: base, count: source.count) }
        }
    }

    /// A tensor with every element equal to `value`.
    public init(repeating value: Float, shape: Shape) {
        self.init(zeros: shape)
        storage.pointer.update(repeating: value, count: shape.count)
    }

    /// The number of elements.
    public var count: Int { shape.count }

    /// The elements in row-major order, copied into an array.
    public var scalars: [Float] {
        withUnsafeBufferPointer { Array($0) }
    }

    /// Calls `body` with the elements, read-only. The pointer must not escape `body`.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: shape.count))
    }

    /// Calls `body` with the elements, writable; copies the storage first if it is shared.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        makeUnique()
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: shape.count))
    }

    @usableFromInline
    internal mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        storage.version &+= 1
    }

    /// The same elements viewed with another shape of equal element count.
    public func reshaped(to newShape: Shape) -> Tensor {
        fatalUnless(
            newShape.count == shape.count,
            "reshaped(to: \(newShape)) needs \(newShape.count) elements; the tensor \(shape) has \(shape.count)")
        var result = self
        result.shape = newShape
        return result
    }

    /// The flat row-major offset of a multi-index.
    public func offset(of indices: [Int]) -> Int {
        fatalUnless(indices.count == shape.rank, "index \(indices) has \(indices.count) axes; tensor \(shape) has \(shape.rank)")
        var offset = 0
        for (axis, index) in indices.enumerated() {
            fatalUnless(index >= 0 && index < shape[axis], "index \(indices) is out of bounds for tensor \(shape)")
            offset = offset * shape[axis] + index
        }
        return offset
    }

    /// Element access by multi-index: `t[n, c, h, w]`.
    public subscript(indices: Int...) -> Float {
        get { storage.pointer[offset(of: indices)] }
        set {
            let position = offset(of: indices)
            makeUnique()
            storage.pointer[position] = newValue
        }
    }

    /// Element access by flat row-major index.
    public subscript(flat index: Int) -> Float {
        get {
            fatalUnless(index >= 0 && index < count, "flat index \(index) out of bounds for \(count) elements")
            return storage.pointer[index]
        }
        set {
            fatalUnless(index >= 0 && index < count, "flat index \(index) out of bounds for \(count) elements")
            makeUnique()
            storage.pointer[index] = newValue
        }
    }

    public var description: String {
        let preview = withUnsafeBufferPointer { $0.prefix(8).map { "\($0)" }.joined(separator: ", ") }
        return "Tensor(\(shape): [\(preview)\(count > 8 ? ", …" : "")])"
    }
}
