import FoveaCore

/// The three small matrices of a Winograd minimal-filtering algorithm F(m×m, 3×3) (Lavin & Gray,
/// "Fast Algorithms for Convolutional Neural Networks", 2016). With α = m + 2, one m×m output
/// tile `Y` of a 3×3 correlation of an α×α input patch `d` with a filter `g` is
///
///     Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A        G: α×3, Bᵀ: α×α, Aᵀ: m×α
///
/// so the α² element-wise products replace the 9·m² multiply-adds of the direct tile. Summed over
/// input channels, the element-wise products become α² independent GEMMs (one per position ξ of
/// the α×α transformed tile). Each 1-D transform here is applied along the columns and then the
/// rows of a tile; the lanes of `SIMD8` carry eight independent tiles. The conforming types are
/// used only as metatypes (`T.self`), which the parallel workers capture: hence `SendableMetatype`.
package protocol WinogradTransform: SendableMetatype {
    /// m: the side of the output tile.
    static var outputTile: Int { get }
    /// α = m + 2: the side of the input tile (and of the transformed tiles).
    static var inputTile: Int { get }
    /// `out[i·os] = Σⱼ Bᵀ[i][j] · d[j·s]` for i, j in 0..<α.
    static func input(_ d: UnsafePointer<SIMD8<Float>>, _ s: Int, _ out: UnsafeMutablePointer<SIMD8<Float>>, _ os: Int)
    /// `out[i·os] = Σⱼ Aᵀ[i][j] · v[j·s]` for i in 0..<m, j in 0..<α.
    static func output(_ v: UnsafePointer<SIMD8<Float>>, _ s: Int, _ out: UnsafeMutablePointer<SIMD8<Float>>, _ os: Int)
    /// `out[i·os] = Σⱼ G[i][j] · g[j·s]` for i in 0..<α, j in 0..<3 (lanes: eight input channels).
    static func filter(_ g: UnsafePointer<SIMD8<Float>>, _ s: Int, _ out: UnsafeMutablePointer<SIMD8<Float>>, _ os: Int)
}

/// F(2×2, 3×3): 4×4 input tiles, 16 GEMMs, 2.25× fewer multiplications than direct convolution.
/// Interpolation points 0, 1, −1 (and ∞):
///
///     Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
///     G  = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
///     Aᵀ = [1 1 1 0; 0 1 −1 −1]
package enum WinogradF2x2: WinogradTransform {
    package static var outputTile: Int { 2 }
    package static var inputTile: Int { 4 }

    @inline(__always)
    package static func input(_ d: UnsafePointer<SIMD8<Float>>, _ s: Int, _ out: UnsafeMutablePointer<SIMD8<Float>>, _ os: Int) {
        let (d0, d1, d2, d3) = (d[0], d[s], d[2 * s], d[3 * s])
        out[0] = d0 - d2
        out[os] = d1 + d2
        out[2 * os] = d2 - d1
        out[3 * os] = d1 - d3
    }

    @inline(__always)
    package static func output(_ v: UnsafePointer<SIMD8<Float>>, _ s: Int, _ out: UnsafeMutablePointer<SIMD8<Float>>, _ os: Int) {
        let (v0, v1, v2, v3) = (v[0], v[s], v[2 * s], v[3 * s])
        out[0] = v0 + v1 + v2
        out[os] = v1 - v2 - v3
    }

    @inline(__always)
    package static func filter(_ g: UnsafePointer<SIMD8<Float>>, _ s: Int, _ out: UnsafeMutablePointer<SIMD8<Float>>, _ os: Int) {
        let (g0, g1, g2) = (g[0], g[s], g[2 * s])
        out[0] = g0
        out[os] = (g0 + g1 + g2) * 0.5
        out[2 * os] = (g0 - g1 + g2) * 0.5
        out[3 * os] = g2
    }
}

/// F(4×4, 3×3): 6×6 input tiles, 36 GEMMs, 4× fewer multiplications than direct convolution.
/// Interpolation points 0, ±1, ±2 (and ∞):
///
///     Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
///     G  = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1]
///     Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
///
/// Scripts/winograd_matrices.py checks these (in float64) against direct
/// correlation.
package enum WinogradF4x4: WinogradTransform {
    package static var outputTile: Int { 4 }
    package static var inputTile: Int { 6 }

    @inline(__always)
    package static func input(_ d: UnsafePointer<SIMD8<Float>>, _ s: Int, _ out: UnsafeMutablePointer<SIMD8<Float>>, _ os: Int) {
        let (d0, d1, d2, d3, d4, d5) = (d[0], d[s], d[2 * s], d[3 * s], d[4 * s], d[5 * s])
        // Shared partial sums: rows 1/2 and 3/4 are sums and differences of the same two terms.
        let a = d4 - 4 * d2, b = d3 - 4 * d1
        let c = d4 - d2, e = 2 * (d3 - d1)
        out[0] = 4 * d0 - 5 * d2 + d4
        out[os] = a + b
        out[2 * os] = a - b
        out[3 * os] = c + e
        out[4 * os] = c - e
        out[5 * os] = 4 * d1 - 5 * d3 + d5
    }

    @inline(__always)
    package static func output(_ v: UnsafePointer<SIMD8<Float>>, _ s: Int, _ out: UnsafeMutablePointer<SIMD8<Float>>, _ os: Int) {
        let (v0, v1, v2, v3, v4, v5) = (v[0], v[s], v[2 * s], v[3 * s], v[4 * s], v[5 * s])
        let sum12 = v1 + v2, difference12 = v1 - v2
        let sum34 = v3 + v4, difference34 = v3 - v4
        out[0] = v0 + sum12 + sum34
        out[os] = difference12 + 2 * difference34
        out[2 * os] = sum12 + 4 * sum34
        out[3 * os] = difference12 + 8 * difference34 + v5
    }

    @inline(__always)
    package static func filter(_ g: UnsafePointer<SIMD8<Float>>, _ s: Int, _ out: UnsafeMutablePointer<SIMD8<Float>>, _ os: Int) {
        let (g0, g1, g2) = (g[0], g[s], g[2 * s])
        let sum02 = g0 + g2
        let a = (sum02 + g1) * (-1 / 6 as Float), b = (sum02 - g1) * (-1 / 6 as Float)
        let c = g0 * (1 / 24 as Float) + g2 * (1 / 6 as Float), d = g1 * (1 / 12 as Float)
        out[0] = g0 * 0.25
        out[os] = a
        out[2 * os] = b
        out[3 * os] = c + d
        out[4 * os] = c - d
        out[5 * os] = g2
    }
}

extension WinogradTileSize {
    /// The transforms of this tile size.
    package var transform: any WinogradTransform.Type {
        switch self {
        case .f2x2: WinogradF2x2.self
        case .f4x4: WinogradF4x4.self
        }
    }
}
