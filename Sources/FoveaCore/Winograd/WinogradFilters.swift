/// Step 1 of `WinogradConvolution`: the filter transform `U_ξ[k, c] = (G g Gᵀ)_ξ`, ξ = i·α + j.
enum WinogradFilters {
    /// Transforms the C filters of output channel `outputChannel` of `g` into row `row` of the
    /// chunk's U (`[α², chunkHeight, C]`, row stride C), computing in Double and rounding once.
    /// - Parameter flipped: read `w'[k, c, r, s] = w[c, k, 2−r, 2−s]` from the stored weight
    ///   `[C', K', 3, 3]` (C' = g's output channels): the backward-data convolution.
    static func transform<T: WinogradTransform>(
        _: T.Type, weight: UnsafePointer<Float>, geometry g: Conv2DGeometry, flipped: Bool,
        outputChannel k: Int, row: Int, plan: WinogradPlan, into u: UnsafeMutablePointer<Float>
    ) {
        let alpha = T.inputTile
        let channels = g.inputChannels
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 9 + 3 * alpha + alpha * alpha) { buffer in
            let taps = buffer.baseAddress!, columns = taps + 9, transformed = columns + 3 * alpha
            for c in 0..<channels {
                if flipped {
                    let source = weight + (c * g.outputChannels + k) * 9
                    for i in 0..<9 { taps[i] = Double(source[8 - i]) }
                } else {
                    let source = weight + (k * channels + c) * 9
                    for i in 0..<9 { taps[i] = Double(source[i]) }
                }
                for j in 0..<3 { T.filter(taps + j, 3, columns + j, 3) }  // G·g: α×3
                for i in 0..<alpha { T.filter(columns + i * 3, 1, transformed + i * alpha, 1) }  // (G·g)·Gᵀ: α×α
                for xi in 0..<(alpha * alpha) {
                    u[(xi * plan.chunkHeight + row) * channels + c] = Float(transformed[xi])
                }
            }
        }
    }
}
