import FoveaCore

/// Step 1 of `WinogradConvolution`: the filter transform `U_ξ[k, c] = (G g Gᵀ)_ξ`, ξ = i·α + j,
/// eight values at a time (one per `SIMD8` lane): eight input channels of one output channel for
/// U in plain rows, eight output channels (rows of one row panel, which lie side by side in that
/// layout) of one input channel for the panel GEMM's layout, so every store is contiguous.
enum WinogradFilters {
    /// Transforms the filters of output channels `firstOutput..<firstOutput+count` into rows
    /// `0..<count` of a chunk's U (at `plan.filterOffset`), on `threads` workers.
    static func transformChunk<T: WinogradTransform>(
        _: T.Type, weight: UnsafePointer<Float>, geometry g: Conv2DGeometry, flipped: Bool,
        firstOutput: Int, count: Int, plan: WinogradPlan, threads: Int, into u: UnsafeMutablePointer<Float>
    ) {
        let (weight, u) = (SendablePointer(weight), SendablePointer(u))
        guard let panels = plan.filterPanels else {
            Parallel.forEach(count, threads: threads) { _, row in
                transform(T.self, weight: weight.pointer, geometry: g, flipped: flipped, outputChannel: firstOutput + row, row: row,
                          plan: plan, into: u.pointer)
            }
            return
        }
        // Runs of up to eight rows inside one row panel.
        let runs = stride(from: 0, to: count, by: panels.rows).flatMap { panel in
            stride(from: panel, to: min(panel + panels.rows, count), by: 8).map { ($0, min(8, min(panel + panels.rows, count) - $0)) }
        }
        Parallel.forEach(runs.count, threads: threads) { _, item in
            let (row, rows) = runs[item]
            transformRows(T.self, weight: weight.pointer, geometry: g, flipped: flipped, firstOutput: firstOutput + row,
                          row: row, count: rows, plan: plan, into: u.pointer)
        }
    }

    /// Rows `row..<row+count` (≤ 8, inside one row panel) of the chunk's U in the panel layout,
    /// from output channels `firstOutput..<firstOutput+count`, one input channel at a time.
    static func transformRows<T: WinogradTransform>(
        _: T.Type, weight: UnsafePointer<Float>, geometry g: Conv2DGeometry, flipped: Bool,
        firstOutput: Int, row: Int, count: Int, plan: WinogradPlan, into u: UnsafeMutablePointer<Float>
    ) {
        let alpha = T.inputTile
        let channels = g.inputChannels
        let planeStride = plan.filterRows * channels  // from U_ξ to U_ξ+1
        let filters = FilterTaps(g, flipped: flipped)
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 9 + 3 * alpha + alpha * alpha) { buffer in
            let taps = buffer.baseAddress!, columns = taps + 9, transformed = columns + 3 * alpha
            taps.update(repeating: .zero, count: 9)
            for c in 0..<channels {
                for lane in 0..<count { filters.gather(weight, outputChannel: firstOutput + lane, channel: c, lane: lane, into: taps) }
                transformLanes(T.self, taps, columns: columns, into: transformed)
                let destination = u + plan.filterOffset(xi: 0, row: row, channel: c)
                for xi in 0..<(alpha * alpha) {
                    let plane = destination + xi * planeStride
                    if count == 8 {
                        UnsafeMutableRawPointer(plane).storeBytes(of: transformed[xi], as: SIMD8<Float>.self)
                    } else {
                        for lane in 0..<count { plane[lane] = transformed[xi][lane] }
                    }
                }
            }
        }
    }

    /// Transforms the C filters of output channel `outputChannel` of `g` into row `row` of the
    /// chunk's U in plain rows (`[α², chunkHeight, C]`).
    /// - Parameter flipped: read `w'[k, c, r, s] = w[c, k, 2−r, 2−s]` from the stored weight
    ///   `[C', K', 3, 3]` (C' = g's output channels): the backward-data convolution.
    static func transform<T: WinogradTransform>(
        _: T.Type, weight: UnsafePointer<Float>, geometry g: Conv2DGeometry, flipped: Bool,
        outputChannel k: Int, row: Int, plan: WinogradPlan, into u: UnsafeMutablePointer<Float>
    ) {
        let alpha = T.inputTile
        let channels = g.inputChannels
        let filters = FilterTaps(g, flipped: flipped)
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 9 + 3 * alpha + alpha * alpha) { buffer in
            let taps = buffer.baseAddress!, columns = taps + 9, transformed = columns + 3 * alpha
            for first in stride(from: 0, to: channels, by: 8) {
                let lanes = min(8, channels - first)
                taps.update(repeating: .zero, count: 9)
                for lane in 0..<lanes { filters.gather(weight, outputChannel: k, channel: first + lane, lane: lane, into: taps) }
                transformLanes(T.self, taps, columns: columns, into: transformed)
                for xi in 0..<(alpha * alpha) {
                    let destination = u + plan.filterOffset(xi: xi, row: row, channel: first)
                    for lane in 0..<lanes { destination[lane] = transformed[xi][lane] }
                }
            }
        }
    }

    /// `(G·g)·Gᵀ` of the eight 3×3 filters in `taps` (one per lane) into `transformed` (α×α),
    /// through `columns` (α×3).
    @inline(__always)
    private static func transformLanes<T: WinogradTransform>(
        _: T.Type, _ taps: UnsafeMutablePointer<SIMD8<Float>>, columns: UnsafeMutablePointer<SIMD8<Float>>,
        into transformed: UnsafeMutablePointer<SIMD8<Float>>
    ) {
        for j in 0..<3 { T.filter(taps + j, 3, columns + j, 3) }  // G·g: α×3
        for i in 0..<T.inputTile { T.filter(columns + i * 3, 1, transformed + i * T.inputTile, 1) }  // (G·g)·Gᵀ: α×α
    }
}

/// Where the taps of filter (k, c) of the convolution being transformed sit in the stored weight:
/// tap i at `weight[k·outputStride + c·channelStride + base + i·tapStep]` — `w[k, c, r, s]`, or
/// flipped (backward-data) `w[c, k, 2−r, 2−s]` from the stored `[C', K', 3, 3]`.
private struct FilterTaps {
    let outputStride: Int, channelStride: Int, base: Int, tapStep: Int

    init(_ g: Conv2DGeometry, flipped: Bool) {
        (outputStride, channelStride, base, tapStep) = flipped ? (9, g.outputChannels * 9, 8, -1) : (g.inputChannels * 9, 9, 0, 1)
    }

    /// Lane `lane` of `taps[0..<9]` ← the nine taps of filter (k, c).
    @inline(__always)
    func gather(_ weight: UnsafePointer<Float>, outputChannel k: Int, channel c: Int, lane: Int,
                into taps: UnsafeMutablePointer<SIMD8<Float>>) {
        let source = weight + k * outputStride + c * channelStride + base
        for i in 0..<9 { taps[i][lane] = source[i * tapStep] }
    }
}
