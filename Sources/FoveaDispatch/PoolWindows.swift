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
