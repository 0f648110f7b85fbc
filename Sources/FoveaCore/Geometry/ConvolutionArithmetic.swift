/// The output-size arithmetic of convolution and pooling along one axis, in one place:
///
///     output = (input + 2·padding − dilation·(kernel − 1) − 1) / stride + 1     (floor division)
///
/// `explanation` spells the computation out with the actual numbers, for error messages and
/// summaries, e.g. `(13 + 2·0 − 1·(5−1) − 1)/1 + 1 = 9`.
public struct ConvolutionArithmetic: Sendable, Equatable {
    public var input: Int
    public var kernel: Int
    public var stride: Int
    public var padding: Int
    public var dilation: Int

    public init(input: Int, kernel: Int, stride: Int, padding: Int, dilation: Int) {
        self.input = input
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
    }

    /// The extent the dilated kernel covers: `dilation·(kernel − 1) + 1`.
    public var effectiveKernel: Int { dilation * (kernel - 1) + 1 }

    /// The numerator `input + 2·padding − dilation·(kernel − 1) − 1`; negative when the
    /// dilated kernel is larger than the padded input.
    public var span: Int { input + 2 * padding - dilation * (kernel - 1) - 1 }

    /// The output size, or a value ≤ 0 when the kernel does not fit.
    public var output: Int { span < 0 ? 0 : span / stride + 1 }

    public var explanation: String {
        "(\(input) + 2·\(padding) − \(dilation)·(\(kernel)−1) − 1)/\(stride) + 1 = \(span < 0 ? "no output" : String(output))"
    }
}
