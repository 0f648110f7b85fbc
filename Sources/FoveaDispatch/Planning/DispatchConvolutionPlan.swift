import FoveaCore

/// What the Dispatch backend runs for one pass of one geometry, made once by
/// `DispatchConvolutionPlanner` and kept in the device's `ConvolutionPlanCache`: the public
/// `ConvolutionPlan` and the blocking its driver runs with. The plan's algorithm and workspace
/// bytes are the blocking's (`init(pass:blocking:forced:)`), so they cannot disagree.
struct DispatchConvolutionPlan: Equatable, Sendable {
    /// The blocking of each algorithm's driver, made by the driver's `blocking(for:)`.
    enum Blocking: Equatable, Sendable {
        /// Winograd F(2×2) or F(4×4): the tile plan `WinogradConvolution` runs (for backward-data,
        /// made for `WinogradConvolution.backwardDataGeometry(g)`).
        case winograd(WinogradPlan)
        /// Forward by `DirectGEMMConvolution`.
        case direct(DirectGEMMConvolution.Blocking)
        /// Backward-filter by `DirectGEMMBackwardFilter`.
        case directBackwardFilter(DirectGEMMBackwardFilter.Blocking)
        /// Backward-data of a 1×1 unpadded layer as `DirectGEMMConvolution`'s forward of
        /// `pointwiseBackwardDataGeometry(g)` with the weight read transposed (then `spread` for stride > 1).
        case directBackwardData(DirectGEMMConvolution.Blocking)
        /// Forward by `ShiftedImageConvolution`.
        case shiftedImage(ShiftedImageConvolution.Blocking)
        /// Forward by `PointwiseConvolution`; a call with a batch-norm prologue (which that kernel
        /// cannot apply: it packs nothing from the image) runs `DirectGEMMConvolution` with
        /// `prologueBlocking`, whose packing applies it.
        case pointwise(PointwiseConvolution.Blocking, prologueBlocking: DirectGEMMConvolution.Blocking)
        /// Forward by `ChannelLanesConvolution`; for backward-data, its forward of
        /// `ChannelLanesConvolution.backwardDataGeometry(g)` (the blocking made for that geometry).
        case channelLanes(ChannelLanesConvolution.Blocking)
        /// Backward-filter by `ShiftedImageBackwardFilter`.
        case shiftedRows(ShiftedImageBackwardFilter.Blocking)
        /// `Im2colConvolution`, which tiles each call itself: only its workspace,
        /// `Im2colConvolution.workspaceBytes(for:pass:)`.
        case im2col(workspaceBytes: Int)

        var algorithm: ConvolutionAlgorithm {
            switch self {
            case .winograd(let tiles): .winograd(tiles.tileSize)
            case .direct, .directBackwardFilter, .directBackwardData: .direct
            case .shiftedImage: .shiftedImage
            case .pointwise: .pointwise
            case .channelLanes: .channelLanes
            case .shiftedRows: .shiftedRows
            case .im2col: .im2col
            }
        }

        /// The direct GEMM's blocking for a pointwise forward with a batch-norm prologue fused
        /// into its packing: a `direct` plan's own, a `pointwise` plan's `prologueBlocking`; else nil.
        var prologueBlocking: DirectGEMMConvolution.Blocking? {
            switch self {
            case .direct(let blocking), .pointwise(_, let blocking): blocking
            default: nil
            }
        }

        /// The bytes one call allocates: the driver blocking's `workspaceBytes`.
        var workspaceBytes: Int {
            switch self {
            case .winograd(let tiles): tiles.workspaceBytes
            case .direct(let blocking): blocking.workspaceBytes
            case .directBackwardFilter(let blocking): blocking.workspaceBytes
            case .directBackwardData(let blocking): blocking.workspaceBytes
            case .shiftedImage(let blocking): blocking.workspaceBytes
            case .pointwise(let blocking, let prologueBlocking): max(blocking.workspaceBytes, prologueBlocking.workspaceBytes)
            case .channelLanes(let blocking): blocking.workspaceBytes
            case .shiftedRows(let blocking): blocking.workspaceBytes
            case .im2col(let bytes): bytes
            }
        }
    }

    /// What `DispatchDevice.convolutionPlan(for:pass:)` reports.
    var plan: ConvolutionPlan
    let blocking: Blocking

    /// The plan running `blocking` for `pass`: its algorithm, workspace and (for Winograd) tile plan.
    init(pass: ConvolutionPass, blocking: Blocking, forced: Bool = false) {
        var tiles: WinogradPlan?
        if case .winograd(let plan) = blocking { tiles = plan }
        plan = ConvolutionPlan(algorithm: blocking.algorithm, pass: pass, workspaceBytes: blocking.workspaceBytes, winograd: tiles,
                               forced: forced)
        self.blocking = blocking
    }
}
