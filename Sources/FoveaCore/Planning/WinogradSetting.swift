/// When Winograd convolution is used.
public enum WinogradPolicy: String, Sendable, CaseIterable {
    /// Eligible layers (3×3, stride 1, dilation 1, groups 1, fits the workspace) that are also
    /// large enough to gain (the backend's `ConvolutionPlanner`).
    case automatic
    /// Every eligible layer, however small (for tests: small shapes reach the Winograd path).
    case always
    /// Never; im2col + GEMM for everything.
    case never
}

/// When a backend takes Winograd (`FOVEA_WINOGRAD`): the policy and the tile size it plans with.
public struct WinogradSetting: Hashable, Sendable {
    public var policy: WinogradPolicy
    public var tileSize: WinogradTileSize

    public init(policy: WinogradPolicy = .automatic, tileSize: WinogradTileSize = .f4x4) {
        self.policy = policy
        self.tileSize = tileSize
    }

    /// The OpenBLAS backend's rule for a layer eligible for `plan` (measured in Docs/Performance.md,
    /// "Winograd for 3×3 convolutions"): both channel counts at least 16, at least 64 output tiles
    /// in the batch (32 with at most 256 input channels), and `coverage` at least 0.9 (0.75 with
    /// at most 256 input channels).
    package static func pays(_ plan: WinogradPlan, _ g: Conv2DGeometry) -> Bool {
        guard g.inputChannels >= 16, g.outputChannels >= 16,
              plan.tiles >= 64 || (plan.tiles >= 32 && g.inputChannels <= 256) else { return false }
        let coverage = self.coverage(plan, g)
        return coverage >= 0.9 || (coverage >= 0.75 && g.inputChannels <= 256)
    }

    /// The share of the tiles' outputs that are real outputs: `P·Q / (tilesHigh·m · tilesWide·m)`.
    package static func coverage(_ plan: WinogradPlan, _ g: Conv2DGeometry) -> Double {
        Double(g.outputHeight * g.outputWidth) / Double(plan.tilesHigh * plan.outputTile * plan.tilesWide * plan.outputTile)
    }
}
