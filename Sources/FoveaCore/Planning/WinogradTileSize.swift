/// The output-tile size of the Winograd algorithm.
public enum WinogradTileSize: String, Hashable, Sendable, CaseIterable {
    /// F(2×2, 3×3): 16 GEMMs, 2.25× fewer multiplications, error as small as direct convolution.
    case f2x2
    /// F(4×4, 3×3): 36 GEMMs, 4× fewer multiplications, a few times the error of direct convolution.
    case f4x4

    /// m: the side of the output tile (the `outputTile` of the size's `WinogradTransform` in
    /// FoveaKernels, which `WinogradTests` checks).
    package var outputTile: Int {
        switch self {
        case .f2x2: 2
        case .f4x4: 4
        }
    }
    /// α = m + 2: the side of the input tile (and of the transformed tiles).
    package var inputTile: Int { outputTile + 2 }
}
