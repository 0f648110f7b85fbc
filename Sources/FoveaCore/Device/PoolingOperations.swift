/// Max, average and adaptive average pooling, forward and backward. Each (n, c) plane is pooled
/// independently.
public protocol PoolingOperations: DeviceIdentity {
    /// `y[n,c,p,q] = max over the window of (p, q)` (padding counts as −∞). Ties go to the first
    /// position in row-major window order; a NaN in the window wins (it propagates, as PyTorch).
    /// Returns the output and, per output element, the flat index `ih·W + iw` of the chosen input
    /// position within its plane (what backward needs).
    func maxPool2dForward(input: Tensor, geometry: Pool2DGeometry) -> MaxPool2DResult

    /// `maxPool2dForward`'s output alone, bit for bit, for inference, where no backward pass needs
    /// the argmax (a device may then skip recording it).
    func maxPool2dForwardValues(input: Tensor, geometry: Pool2DGeometry) -> Tensor

    /// Routes each `∂L/∂y[n,c,p,q]` to the input position `argmax` recorded; positions chosen by
    /// several windows receive the sum. Returns `geometry.inputShape`.
    func maxPool2dBackward(gradOutput: Tensor, argmax: [Int32], geometry: Pool2DGeometry) -> Tensor

    /// `y[n,c,p,q] = (Σ over the window's in-image positions of x) / divisor`, where the divisor is
    /// the whole window `kH·kW` when `countIncludesPadding`, else the number of in-image positions.
    func avgPool2dForward(input: Tensor, geometry: Pool2DGeometry) -> Tensor

    /// `avgPool2dForward` of the input normalised and activated as `prologue` says (DenseNet's
    /// transition in evaluation mode, whose batch norm and ReLU come before the pooling): the
    /// values of this device's `applying(prologue, to: input)` pooled, bit for bit, without
    /// writing them out where the device fuses the two.
    func avgPool2dForward(input: Tensor, prologue: BatchNormPrologue, geometry: Pool2DGeometry) -> Tensor

    /// Spreads each `∂L/∂y[n,c,p,q] / divisor` over the window's in-image positions.
    func avgPool2dBackward(gradOutput: Tensor, geometry: Pool2DGeometry) -> Tensor

    /// Adaptive average pooling to `outputSize` (as PyTorch's `AdaptiveAvgPool2d`): output row p
    /// averages input rows `⌊p·H/P⌋ ..< ⌈(p+1)·H/P⌉`, likewise columns. `outputSize` 1×1 is global
    /// average pooling.
    func adaptiveAvgPool2dForward(input: Tensor, outputSize: Size2D) -> Tensor

    /// The adjoint of `adaptiveAvgPool2dForward`: returns a tensor of `inputShape`.
    func adaptiveAvgPool2dBackward(gradOutput: Tensor, inputShape: Shape) -> Tensor
}

/// What max pooling forward returns: the pooled output and, per output element, the flat index
/// `ih·W + iw` (within its (n, c) plane) of the input element it took.
public struct MaxPool2DResult: Sendable {
    public var output: Tensor
    public var argmax: [Int32]

    public init(output: Tensor, argmax: [Int32]) {
        self.output = output
        self.argmax = argmax
    }
}

extension PoolingOperations {
    public func maxPool2dForward(input: Tensor, geometry: Pool2DGeometry) -> MaxPool2DResult {
        delegate("maxPool2dForward").maxPool2dForward(input: input, geometry: geometry)
    }

    /// The output of this device's own `maxPool2dForward`.
    public func maxPool2dForwardValues(input: Tensor, geometry: Pool2DGeometry) -> Tensor {
        maxPool2dForward(input: input, geometry: geometry).output
    }

    public func maxPool2dBackward(gradOutput: Tensor, argmax: [Int32], geometry: Pool2DGeometry) -> Tensor {
        delegate("maxPool2dBackward").maxPool2dBackward(gradOutput: gradOutput, argmax: argmax, geometry: geometry)
    }

    public func avgPool2dForward(input: Tensor, geometry: Pool2DGeometry) -> Tensor {
        delegate("avgPool2dForward").avgPool2dForward(input: input, geometry: geometry)
    }

    public func avgPool2dBackward(gradOutput: Tensor, geometry: Pool2DGeometry) -> Tensor {
        delegate("avgPool2dBackward").avgPool2dBackward(gradOutput: gradOutput, geometry: geometry)
    }

    public func adaptiveAvgPool2dForward(input: Tensor, outputSize: Size2D) -> Tensor {
        delegate("adaptiveAvgPool2dForward").adaptiveAvgPool2dForward(input: input, outputSize: outputSize)
    }

    public func adaptiveAvgPool2dBackward(gradOutput: Tensor, inputShape: Shape) -> Tensor {
        delegate("adaptiveAvgPool2dBackward").adaptiveAvgPool2dBackward(gradOutput: gradOutput, inputShape: inputShape)
    }
}

extension PoolingOperations where Self: NormalizationOperations {
    /// The unfused composition: the device's own batch norm (and activation), then its pooling.
    public func avgPool2dForward(input: Tensor, prologue: BatchNormPrologue, geometry: Pool2DGeometry) -> Tensor {
        avgPool2dForward(input: applying(prologue, to: input), geometry: geometry)
    }
}
