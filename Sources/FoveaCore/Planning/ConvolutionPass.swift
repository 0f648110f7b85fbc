/// The three computations of a convolution layer (formulas in `ConvolutionOperations`).
public enum ConvolutionPass: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// `y = conv(x, w) + b`.
    case forward
    /// `∂x` from `∂y` and `w`.
    case backwardData = "backward-data"
    /// `∂w` and `∂b` from `∂y` and `x`.
    case backwardFilter = "backward-filter"

    /// The name used in `FOVEA_CONV_ALGORITHM` and benchmark output: `forward`, `backward-data`, `backward-filter`.
    public var description: String { rawValue }
}
