/// The hyper-parameters of a 2-D convolution, each per spatial axis (height, width).
/// Padding is symmetric: `padding.height` zero rows above and below, `padding.width` columns
/// left and right, as in PyTorch's `Conv2d`.
public struct Conv2DOptions: Hashable, Sendable, CustomStringConvertible {
    public var stride: Size2D
    public var padding: Size2D
    public var dilation: Size2D
    /// Input and output channels are split into `groups` independent convolutions;
    /// `groups == inputChannels` is a depthwise convolution.
    public var groups: Int

    public init(stride: Size2D = 1, padding: Size2D = 0, dilation: Size2D = 1, groups: Int = 1) {
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
    }

    public var description: String {
        "stride \(stride), padding \(padding), dilation \(dilation), groups \(groups)"
    }

    /// - Throws: `.invalidArgument` naming `name`, the argument and its valid range: stride,
    ///   dilation or groups < 1, padding < 0.
    public func validate(name: String) throws {
        let check = ArgumentCheck(name)
        try check.atLeast(1, stride, "stride")
        try check.atLeast(0, padding, "padding")
        try check.atLeast(1, dilation, "dilation")
        try check.atLeast(1, groups, "groups")
    }
}
