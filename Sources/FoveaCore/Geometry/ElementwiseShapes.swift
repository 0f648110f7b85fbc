/// The shape rules of the element-wise operations, checked by every backend. A mismatch is a
/// programming error (the layers that call these operations fixed the shapes when the graph was
/// built), so it traps with a message naming the operation and the shapes.
public enum ElementwiseShapes {
    /// `add` and `multiply` take operands of equal shape.
    public static func checkEqual(_ a: Shape, _ b: Shape, operation: String) {
        fatalUnless(a == b, "\(operation): the operands must have equal shapes, got \(a) and \(b)")
    }

    /// The shape of `concatenateChannels`: `[N, Σ Cᵢ, H, W]` for inputs `[N, Cᵢ, H, W]`.
    public static func concatenated(_ shapes: [Shape]) -> Shape {
        fatalUnless(!shapes.isEmpty, "concatenateChannels: needs at least one input")
        let first = shapes[0]
        let listed = shapes.map(\.description).joined(separator: ", ")
        fatalUnless(shapes.allSatisfy { $0.rank == 4 }, "concatenateChannels: inputs must be 4-D [N, C, H, W], got \(listed)")
        fatalUnless(
            shapes.allSatisfy { $0[0] == first[0] && $0[2] == first[2] && $0[3] == first[3] },
            "concatenateChannels: inputs must agree in N, H and W, got \(listed)")
        return [first[0], shapes.reduce(0) { $0 + $1[1] }, first[2], first[3]]
    }

    /// `splitChannels` takes a 4-D tensor and non-negative `sizes` that sum to its channels.
    public static func checkSplit(_ shape: Shape, sizes: [Int]) {
        fatalUnless(shape.rank == 4, "splitChannels: input must be 4-D [N, C, H, W], got \(shape)")
        fatalUnless(
            sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == shape[1],
            "splitChannels: sizes \(sizes) must be non-negative and sum to the \(shape[1]) channels of \(shape)")
    }
}
