import FoveaCore

/// The in-image taps of every output index along one spatial axis, computed once per call so the
/// pooling loops never test bounds: output `o` reads inputs `first[o] + t·step` for `t < count[o]`.
struct PoolWindows: Sendable {
    let first: [Int]
    let count: [Int]
    let step: Int

    /// Strided, padded, dilated windows: output `o` has taps `o·stride − padding + t·dilation`,
    /// `t < kernel`; only those in `0..<input` are kept.
    init(input: Int, kernel: Int, stride: Int, padding: Int, dilation: Int, outputs: Int) {
        var first = [Int](repeating: 0, count: outputs)
        var count = [Int](repeating: 0, count: outputs)
        for o in 0..<outputs {
            let start = o * stride - padding
            let firstTap = start >= 0 ? 0 : (-start + dilation - 1) / dilation
            let endTap = start > input - 1 ? 0 : min(kernel, (input - 1 - start) / dilation + 1)
            first[o] = start + firstTap * dilation
            count[o] = max(0, endTap - firstTap)
        }
        self.first = first
        self.count = count
        step = dilation
    }

    /// Whether output `o` reads inputs `2o` and `2o + 1` for every o: a 2-wide window at stride 2
    /// without padding (nor a partial last window).
    var arePairs: Bool {
        step == 1 && first.indices.allSatisfy { first[$0] == 2 * $0 && count[$0] == 2 }
    }

    /// Adaptive windows: output `o` averages inputs `⌊o·input/outputs⌋ ..< ⌈(o+1)·input/outputs⌉`.
    init(adaptiveInput input: Int, outputs: Int) {
        first = (0..<outputs).map { $0 * input / outputs }
        count = (0..<outputs).map { (($0 + 1) * input + outputs - 1) / outputs - $0 * input / outputs }
        step = 1
    }

    /// The windows of both axes of a pooling geometry.
    static func of(_ g: Pool2DGeometry) -> (rows: PoolWindows, columns: PoolWindows) {
        let o = g.options
        return (
            PoolWindows(input: g.inputHeight, kernel: o.kernel.height, stride: o.stride.height,
                        padding: o.padding.height, dilation: o.dilation.height, outputs: g.outputHeight),
            PoolWindows(input: g.inputWidth, kernel: o.kernel.width, stride: o.stride.width,
                        padding: o.padding.width, dilation: o.dilation.width, outputs: g.outputWidth))
    }
}

/// The in-image taps of one max-pooling window, rows `firstRow + i·rowStep` (`i < rowTaps`) and
/// columns `firstColumn + j·columnStep` (`j < columnTaps`) of a plane `width` wide.
struct MaxWindow {
    let firstRow: Int, rowTaps: Int, rowStep: Int
    let firstColumn: Int, columnTaps: Int, columnStep: Int
    let width: Int

    /// The largest tap and its flat index, by the rule of `NaiveDevice.maxPool2dForward`: the first
    /// tap, replaced by any strictly larger one or any NaN. The common case, no NaN in the window,
    /// runs without data-dependent branches (whether a tap is the new maximum is unpredictable on
    /// real data and mispredicting it tripled the time); a window holding a NaN is scanned again
    /// by the full rule.
    @inline(__always)
    func maximum(in plane: UnsafeMutablePointer<Float>) -> (value: Float, index: Int) {
        var chosen = firstRow * width + firstColumn
        var best = plane[chosen]
        var sawNaN = false
        var rowStart = chosen
        for _ in 0..<rowTaps {
            var index = rowStart
            for _ in 0..<columnTaps {
                let value = plane[index]
                let takes = value > best
                best = takes ? value : best
                chosen = takes ? index : chosen
                sawNaN = sawNaN || value.isNaN
                index += columnStep
            }
            rowStart += rowStep * width
        }
        return sawNaN ? maximumWithNaN(in: plane) : (best, chosen)
    }

    private func maximumWithNaN(in plane: UnsafeMutablePointer<Float>) -> (value: Float, index: Int) {
        var chosen = firstRow * width + firstColumn
        var best = plane[chosen]
        for i in 0..<rowTaps {
            for j in 0..<columnTaps {
                let index = (firstRow + i * rowStep) * width + firstColumn + j * columnStep
                if plane[index] > best || plane[index].isNaN { (best, chosen) = (plane[index], index) }
            }
        }
        return (best, chosen)
    }
}
