/// Everything about one 2-D convolution's sizes, validated once. Backends receive a geometry and
/// trust it; only `init(inputShape:weightShape:options:)` checks.
///
/// Shapes (NCHW):
/// - input  `[N, C, H, W]`
/// - weight `[K, C/groups, R, S]`  (K output channels, R×S kernel)
/// - bias   `[K]`
/// - output `[N, K, P, Q]` with `P = (H + 2·padH − dilH·(R−1) − 1)/strideH + 1`, likewise `Q`.
public struct Conv2DGeometry: Hashable, Sendable, CustomStringConvertible {
    public let batch: Int
    public let inputChannels: Int
    public let inputHeight: Int
    public let inputWidth: Int
    public let outputChannels: Int
    public let kernelHeight: Int
    public let kernelWidth: Int
    public let options: Conv2DOptions
    public let outputHeight: Int
    public let outputWidth: Int

    /// Validates the shapes and options and computes the output size.
    /// - Parameter name: the layer or operation named in error messages.
    /// - Throws: `FoveaError` naming the expected and actual values.
    public init(inputShape: Shape, weightShape: Shape, options: Conv2DOptions, name: String = "conv2d") throws {
        guard inputShape.rank == 4 else {
            throw FoveaError.shapeMismatch("\(name): input must be 4-D [N, C, H, W], got \(inputShape)")
        }
        guard weightShape.rank == 4 else {
            throw FoveaError.shapeMismatch("\(name): weight must be 4-D [K, C/groups, R, S], got \(weightShape)")
        }
        let o = options
        try o.validate(name: name)
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let (k, cg, r, s) = (weightShape[0], weightShape[1], weightShape[2], weightShape[3])
        guard c % o.groups == 0 else {
            throw FoveaError.invalidArgument(
                "\(name): input channels \(c) are not divisible by groups \(o.groups)")
        }
        guard k % o.groups == 0 else {
            throw FoveaError.invalidArgument(
                "\(name): output channels \(k) are not divisible by groups \(o.groups)")
        }
        guard cg == c / o.groups else {
            throw FoveaError.shapeMismatch(
                "\(name): weight \(weightShape) expects \(cg * o.groups) input channels (\(cg) per group × \(o.groups) groups), but the input \(inputShape) has \(c)")
        }
        guard r >= 1, s >= 1, k >= 1 else {
            throw FoveaError.invalidArgument("\(name): weight \(weightShape) has an empty dimension")
        }
        let vertical = ConvolutionArithmetic(
            input: h, kernel: r, stride: o.stride.height, padding: o.padding.height, dilation: o.dilation.height)
        let horizontal = ConvolutionArithmetic(
            input: w, kernel: s, stride: o.stride.width, padding: o.padding.width, dilation: o.dilation.width)
        guard vertical.span >= 0 else {
            throw FoveaError.shapeMismatch(
                "\(name): the dilated kernel height \(vertical.effectiveKernel) is larger than the padded input height \(h + 2 * o.padding.height): \(vertical.explanation)")
        }
        guard horizontal.span >= 0 else {
            throw FoveaError.shapeMismatch(
                "\(name): the dilated kernel width \(horizontal.effectiveKernel) is larger than the padded input width \(w + 2 * o.padding.width): \(horizontal.explanation)")
        }
        batch = n
        inputChannels = c
        inputHeight = h
        inputWidth = w
        outputChannels = k
        kernelHeight = r
        kernelWidth = s
        self.options = o
        outputHeight = vertical.output
        outputWidth = horizontal.output
    }

    public var groups: Int { options.groups }
    public var inputChannelsPerGroup: Int { inputChannels / options.groups }
    public var outputChannelsPerGroup: Int { outputChannels / options.groups }

    public var inputShape: Shape { [batch, inputChannels, inputHeight, inputWidth] }
    public var weightShape: Shape { [outputChannels, inputChannelsPerGroup, kernelHeight, kernelWidth] }
    public var outputShape: Shape { [batch, outputChannels, outputHeight, outputWidth] }

    /// Rows of one group's im2col matrix: `C/groups · R · S` (the GEMM's K).
    public var columnRows: Int { inputChannelsPerGroup * kernelHeight * kernelWidth }
    /// Columns of one image's im2col matrix: `P · Q` (the GEMM's N).
    public var columnCount: Int { outputHeight * outputWidth }
    /// True when the column matrix is the input itself: 1×1 kernel, stride 1, no padding.
    public var isPointwise: Bool { kernelHeight == 1 && kernelWidth == 1 && options.stride == 1 && options.padding == 0 }

    /// Multiply-adds × 2 of the forward pass: `2·N·K·(C/groups)·R·S·P·Q`. Backward-data and
    /// backward-filter cost the same.
    public var flops: Double {
        2 * Double(batch) * Double(outputChannels) * Double(columnRows) * Double(columnCount)
    }

    public var description: String {
        "conv \(inputShape) * \(weightShape) -> \(outputShape), \(options)"
    }
}
