/// The hyper-parameters of 2-D max or average pooling, per spatial axis (height, width).
/// `stride` defaults to the kernel size, as in PyTorch. Padding is symmetric; max pooling treats
/// padding as −∞, average pooling as zeros (counted in the divisor when `countIncludesPadding`).
public struct Pool2DOptions: Hashable, Sendable, CustomStringConvertible {
    public var kernel: Size2D
    public var stride: Size2D
    public var padding: Size2D
    public var dilation: Size2D
    /// Average pooling only: divide by the whole window (true, PyTorch's default) or only by the
    /// number of positions inside the image (false).
    public var countIncludesPadding: Bool

    public init(kernel: Size2D, stride: Size2D? = nil, padding: Size2D = 0, dilation: Size2D = 1, countIncludesPadding: Bool = true) {
        self.kernel = kernel
        self.stride = stride ?? kernel
        self.padding = padding
        self.dilation = dilation
        self.countIncludesPadding = countIncludesPadding
    }

    public var description: String {
        "kernel \(kernel), stride \(stride), padding \(padding), dilation \(dilation)"
    }

    /// - Throws: `.invalidArgument` naming `name`, the argument and its valid range: kernel,
    ///   stride or dilation < 1, padding < 0 or larger than half the kernel (as PyTorch).
    public func validate(name: String) throws {
        let check = ArgumentCheck(name)
        try check.atLeast(1, kernel, "kernelSize")
        try check.atLeast(1, stride, "stride")
        try check.atLeast(1, dilation, "dilation")
        try check.atLeast(0, padding, "padding")
        guard padding.height <= kernel.height / 2, padding.width <= kernel.width / 2 else {
            throw FoveaError.invalidArgument("\(name): padding \(padding) must be at most half the kernel \(kernel)")
        }
    }
}

/// Everything about one pooling's sizes, validated once.
///
/// Shapes: input `[N, C, H, W]` → output `[N, C, P, Q]`,
/// `P = (H + 2·padH − dilH·(kH−1) − 1)/strideH + 1` (floor), likewise `Q`.
/// Window of output (p, q): rows `p·sh − ph + i·dh`, columns `q·sw − pw + j·dw`, `i < kH`, `j < kW`.
public struct Pool2DGeometry: Hashable, Sendable, CustomStringConvertible {
    public let batch: Int
    public let channels: Int
    public let inputHeight: Int
    public let inputWidth: Int
    public let options: Pool2DOptions
    public let outputHeight: Int
    public let outputWidth: Int

    /// - Throws: `FoveaError` naming `name` and the offending values: a non-4-D input, stride or
    ///   dilation < 1, kernel < 1, padding < 0 or larger than half the kernel (as PyTorch), or a
    ///   window larger than the padded input (with the output-size arithmetic).
    public init(inputShape: Shape, options: Pool2DOptions, name: String = "pool2d") throws {
        guard inputShape.rank == 4 else {
            throw FoveaError.shapeMismatch("\(name): input must be 4-D [N, C, H, W], got \(inputShape)")
        }
        let o = options
        try o.validate(name: name)
        let vertical = ConvolutionArithmetic(
            input: inputShape[2], kernel: o.kernel.height, stride: o.stride.height, padding: o.padding.height, dilation: o.dilation.height)
        let horizontal = ConvolutionArithmetic(
            input: inputShape[3], kernel: o.kernel.width, stride: o.stride.width, padding: o.padding.width, dilation: o.dilation.width)
        for (axis, arithmetic) in [("height", vertical), ("width", horizontal)] where arithmetic.span < 0 {
            throw FoveaError.shapeMismatch(
                "\(name): the pooling window \(axis) \(arithmetic.effectiveKernel) is larger than the padded input \(axis) \(arithmetic.input + 2 * arithmetic.padding): \(arithmetic.explanation)")
        }
        batch = inputShape[0]
        channels = inputShape[1]
        inputHeight = inputShape[2]
        inputWidth = inputShape[3]
        self.options = o
        outputHeight = vertical.output
        outputWidth = horizontal.output
    }

    public var inputShape: Shape { [batch, channels, inputHeight, inputWidth] }
    public var outputShape: Shape { [batch, channels, outputHeight, outputWidth] }

    public var description: String { "pool \(inputShape) -> \(outputShape), \(options)" }
}
