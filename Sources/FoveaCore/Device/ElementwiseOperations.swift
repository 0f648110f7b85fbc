/// Element-wise arithmetic and channel concatenation: residual connections (`add`), dropout masks
/// (`multiply`), dense connections (`concatenateChannels` / `splitChannels`).
public protocol ElementwiseOperations: DeviceIdentity {
    /// `a + b`; the shapes are equal.
    func add(_ a: Tensor, _ b: Tensor) -> Tensor

    /// `a ⊙ b` (element-wise product); the shapes are equal.
    func multiply(_ a: Tensor, _ b: Tensor) -> Tensor

    /// Concatenates NCHW tensors along C; all have the same N, H, W. The result has
    /// `Σ Cᵢ` channels, the inputs' channels in order.
    func concatenateChannels(_ inputs: [Tensor]) -> Tensor

    /// The adjoint of `concatenateChannels`: splits an NCHW tensor along C into parts of
    /// `sizes` channels (`sizes` sum to C).
    func splitChannels(_ input: Tensor, sizes: [Int]) -> [Tensor]
}

extension ElementwiseOperations {
    public func add(_ a: Tensor, _ b: Tensor) -> Tensor { delegate("add").add(a, b) }

    public func multiply(_ a: Tensor, _ b: Tensor) -> Tensor { delegate("multiply").multiply(a, b) }

    public func concatenateChannels(_ inputs: [Tensor]) -> Tensor {
        delegate("concatenateChannels").concatenateChannels(inputs)
    }

    public func splitChannels(_ input: Tensor, sizes: [Int]) -> [Tensor] {
        delegate("splitChannels").splitChannels(input, sizes: sizes)
    }
}
