/// The ways the GEMM-based backends compute a convolution pass. Which backend runs which
/// algorithm for which pass is the backend's `ConvolutionPlanner`'s to say (`algorithms(for:)`).
public enum ConvolutionAlgorithm: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// im2col tiles + the serial GEMM (col2im for backward-data): `Im2colConvolution`. Every pass, every geometry.
    case im2col
    /// One packed GEMM per (image, group) whose B panels are packed straight from the image
    /// (dispatch forward: `DirectGEMMConvolution`; dispatch backward-filter: `DirectGEMMBackwardFilter`).
    case direct
    /// A GEMM reading B from the image's shifted phase planes (dispatch forward: `ShiftedImageConvolution`).
    case shiftedImage = "shifted-image"
    /// A pointwise layer's forward (1×1, stride 1, no padding, one group) with the output channels
    /// in the vector lanes, broadcasting from the image as it is (dispatch forward on AVX-512: `PointwiseConvolution`).
    case pointwise
    /// Any layer's forward with the output channels in the vector lanes, broadcasting from the
    /// shifted image's phase planes (dispatch forward on AVX-512: `ChannelLanesConvolution`).
    case channelLanes = "channel-lanes"
    /// A GEMM broadcasting from shifted rows of the padded image (dispatch backward-filter: `ShiftedImageBackwardFilter`).
    case shiftedRows = "shifted-rows"
    /// Winograd F(2×2, 3×3) (`WinogradConvolution`; backward-data as the forward convolution of
    /// `WinogradConvolution.backwardDataGeometry`).
    case winograd2
    /// Winograd F(4×4, 3×3), as `winograd2`.
    case winograd4

    /// The name used in `FOVEA_CONV_ALGORITHM` and `fovea-bench layers --algorithm`.
    public var description: String { rawValue }

    /// The Winograd tile size of `winograd2` and `winograd4`, else nil.
    public var winogradTileSize: WinogradTileSize? {
        switch self {
        case .winograd2: .f2x2
        case .winograd4: .f4x4
        default: nil
        }
    }

    /// `winograd2` or `winograd4` for `tileSize`.
    public static func winograd(_ tileSize: WinogradTileSize) -> ConvolutionAlgorithm {
        tileSize == .f2x2 ? .winograd2 : .winograd4
    }
}
