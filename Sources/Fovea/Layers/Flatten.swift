/// Flattens every dimension after the batch: `[N, C, H, W]` → `[N, C·H·W]` (PyTorch's
/// `nn.Flatten()`). A reshape: no copy, no parameters.
public final class Flatten: Layer {
    private var savedShape: Shape?

    public override init() { super.init() }

    public override func outputShape(for shape: Shape) throws -> Shape {
        guard shape.rank >= 1 else { throw shapeError("needs at least a batch dimension, got \(shape)") }
        return [shape[0], shape.count / max(shape[0], 1)]
    }

    public override func forward(_ input: Tensor, device: any Device) throws -> Tensor {
        savedShape = input.shape
        return input.reshaped(to: try outputShape(for: input.shape))
    }

    public override func backward(_ gradOutput: Tensor, device: any Device) throws -> Tensor {
        guard let shape = savedShape else { throw missingForwardError() }
        return gradOutput.reshaped(to: shape)
    }
}
