/// Step 1 of `WinogradConvolution`: the filter transform `U_ξ[k, c] = (G g Gᵀ)_ξ`, ξ = i·α + j,
/// eight input channels at a time (one per `SIMD8` lane).
enum WinogradFilters {
    /// Transforms the C filters of output channel `outputChannel` of `g` into row `row` of the
    /// chunk's U (at `plan.filterOffset`).
    /// - Parameter flipped: read `w'[k, c, r, s] = w[c, k, 2−r, 2−s]` from the stored weight
    ///   `[C', K', 3, 3]` (C' = g's output channels): the backward-data convolution.
    static func transform<T: WinogradTransform>(
        _: T.Type, weight: UnsafePointer<Float>, geometry g: Conv2DGeometry, flipped: Bool,
        outputChannel k: Int, row: Int, plan: WinogradPlan, into u: UnsafeMutablePointer<Float>
    ) {
        let alpha = T.inputTile
        let channels = g.inputChannels
        // Tap (r, s) of filter (k, c) in the stored weight.
        let (filterStride, base, tapStep) = flipped
            ? (g.outputChannels * 9, k * 9 + 8, -1)  // w[c, k, 2−r, 2−s]
            : (9, k * channels * 9, 1)  // w[k, c, r, s]
        // The distance between consecutive channels' values in U (0: compute each offset).
        let channelStride = plan.filterPanels.map { $0.depth % 8 == 0 ? $0.rows : 0 } ?? 1
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 9 + 3 * alpha + alpha * alpha) { buffer in
            let taps = buffer.baseAddress!, columns = taps + 9, transformed = columns + 3 * alpha
            for first in stride(from: 0, to: channels, by: 8) {
                let lanes = min(8, channels - first)
                taps.update(repeating: .zero, count: 9)
                for lane in 0..<lanes {
                    let source = weight + base + (first + lane) * filterStride
                    for i in 0..<9 { taps[i][lane] = source[i * tapStep] }
                }
                for j in 0..<3 { T.filter(taps + j, 3, columns + j, 3) }  // G·g: α×3
                for i in 0..<alpha { T.filter(columns + i * 3, 1, transformed + i * alpha, 1) }  // (G·g)·Gᵀ: α×α
                for xi in 0..<(alpha * alpha) {
                    // Eight channels from a multiple of 8 share a depth block when blocks are multiples of 8.
                    let destination = u + plan.filterOffset(xi: xi, row: row, channel: first)
                    if channelStride > 0 {
                        for lane in 0..<lanes { destination[lane * channelStride] = transformed[xi][lane] }
                    } else {
                        for lane in 0..<lanes { u[plan.filterOffset(xi: xi, row: row, channel: first + lane)] = transformed[xi][lane] }
                    }
                }
            }
        }
    }
}
