import CFoveaKernels
import FoveaCore

/// Max and average pooling over GCD. `x` is `[N, C, H, W]`, `y` is `[N, C, P, Q]`; the in-image
/// taps of every window come from `PoolWindows`, so the loops never test bounds.
///
/// Forward passes are split over (plane, block of output rows); each output element is reduced by
/// one worker over its taps in row-major window order. Backward passes scatter into the input and
/// are split over whole planes, each plane's outputs visited in row-major order. Either way the
/// results do not depend on the thread count. Semantics (ties, NaN, all-padding windows, the
/// divisor) are those of `NaiveDevice`.
extension DispatchDevice {
    /// `y = max over the window's in-image taps`: the first tap, replaced by any strictly larger
    /// or NaN tap; −∞ and argmax −1 for a window with no in-image tap.
    public func maxPool2dForward(input: Tensor, geometry g: Pool2DGeometry) -> MaxPool2DResult {
        var argmax = [Int32](unsafeUninitializedCapacity: g.outputShape.count) { _, count in count = g.outputShape.count }
        let output = argmax.withUnsafeMutableBufferPointer { maxPool(input, geometry: g, argmax: $0.baseAddress) }
        return MaxPool2DResult(output: output, argmax: argmax)
    }

    /// `maxPool2dForward`'s output without recording the argmax: the AVX-512 row kernel skips the
    /// indices (half its blends, and the argmax's stores); the other paths write them to a row of
    /// scratch. The same values, bit for bit.
    public func maxPool2dForwardValues(input: Tensor, geometry g: Pool2DGeometry) -> Tensor {
        maxPool(input, geometry: g, argmax: nil)
    }

    /// Max pooling of `input` into a new tensor, with every output's argmax written to `argmax`
    /// (`g.outputShape.count` entries) unless it is nil.
    private func maxPool(_ input: Tensor, geometry g: Pool2DGeometry, argmax recorded: UnsafeMutablePointer<Int32>?) -> Tensor {
        // Every output and argmax is written below (windows without taps by `one`: −∞ and −1).
        var output = Tensor(uninitialized: g.outputShape)
        guard g.outputShape.count > 0 else { return output }
        let (rows, columns) = PoolWindows.of(g)
        let (width, inputPlane, outputWidth) = (g.inputWidth, g.inputHeight * g.inputWidth, g.outputWidth)
        let outputPlane = g.outputHeight * g.outputWidth
        let split = WorkSplit.PlaneRows(planes: g.batch * g.channels, rows: g.outputHeight, threads: threadCount)
        // Whole windows at stride 1 or 2 without dilation go to the AVX-512 row kernel where there is one.
        let vectorRows = kernel.isAVX512 && columns.step == 1 && (g.options.stride.width == 1 || g.options.stride.width == 2)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                let (x, y) = (SendablePointer(x.baseAddress!), SendablePointer(y.baseAddress!))
                let recorded = recorded.map(SendablePointer.init)
                Parallel.forEach(split.items, threads: threadCount) { _, item in
                    // Without a recorded argmax, the Swift paths write a row's indices here.
                    withUnsafeTemporaryAllocation(of: Int32.self, capacity: recorded == nil ? outputWidth : 0) { scratch in
                        let (plane, outputRows) = split.block(item)
                        let source = x.pointer + plane * inputPlane
                        for p in outputRows {
                            let (firstRow, rowTaps) = (rows.first[p], rows.count[p])
                            let target = plane * outputPlane + p * outputWidth
                            // Output (p, q)'s argmax goes to argmaxRow[q]: recorded, or scratch.
                            let argmaxRow = recorded.map { $0.pointer + target } ?? scratch.baseAddress!
                            func one(_ q: Int) {
                                let (firstColumn, columnTaps) = (columns.first[q], columns.count[q])
                                var (best, chosen) = (-Float.infinity, -1)
                                if rowTaps > 0 && columnTaps > 0 {
                                    let window = MaxWindow(
                                        firstRow: firstRow, rowTaps: rowTaps, rowStep: rows.step,
                                        firstColumn: firstColumn, columnTaps: columnTaps, columnStep: columns.step, width: width)
                                    (best, chosen) = window.maximum(in: source)
                                }
                                y.pointer[target + q] = best
                                argmaxRow[q] = Int32(chosen)
                            }
                            // Windows cut by the padding one by one, then 16 full windows at a time, then the rest.
                            var q = 0
                            while q < outputWidth && columns.count[q] < g.options.kernel.width { one(q); q += 1 }
                            if vectorRows && rowTaps > 0 {
                                // The row's run of whole windows by the AVX-512 kernel.
                                var end = q
                                while end < outputWidth && columns.count[end] == g.options.kernel.width { end += 1 }
                                if end > q {
                                    fovea_max_pool_row_avx512(source, width, firstRow, Int32(rowTaps), rows.step, columns.first[q],
                                                              Int32(g.options.kernel.width), Int32(g.options.stride.width), Int32(end - q),
                                                              y.pointer + target + q, recorded == nil ? nil : argmaxRow + q)
                                    q = end
                                }
                            }
                            while rowTaps > 0,
                                  let vector = MaxWindows16(firstOutput: q, columns: columns, kernel: g.options.kernel.width,
                                                            stride: g.options.stride.width, width: width),
                                  vector.maximum(in: source, firstRow: firstRow, rowTaps: rowTaps, rowStep: rows.step,
                                                 into: y.pointer + target + q, argmax: argmaxRow + q) {
                                q += 16
                            }
                            while q < outputWidth {
                                if rowTaps == 2, columns.count[q] == 2,
                                   MaxWindow2x2(firstRow: firstRow, rowStep: rows.step, firstColumn: columns.first[q], columnStep: columns.step, width: width)
                                       .maximum(in: source, into: y.pointer + target + q, argmax: argmaxRow + q) {
                                    q += 1
                                    continue
                                }
                                one(q)
                                q += 1
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// `∂x[plane, argmax] += ∂y` for every output with an argmax (≥ 0), per plane in output order.
    /// Each worker clears its plane of `∂x` just before scattering into it (no separate zeroing
    /// pass over the whole tensor, and the plane is still in cache when the scatter reads it).
    public func maxPool2dBackward(gradOutput: Tensor, argmax: [Int32], geometry g: Pool2DGeometry) -> Tensor {
        let planes = g.batch * g.channels
        let inputPlane = g.inputHeight * g.inputWidth, outputPlane = g.outputHeight * g.outputWidth
        guard planes > 0, outputPlane > 0 else { return Tensor(zeros: g.inputShape) }
        var gradInput = Tensor(uninitialized: g.inputShape)  // every plane is cleared below
        gradOutput.withUnsafeBufferPointer { dy in
            argmax.withUnsafeBufferPointer { a in
                gradInput.withUnsafeMutableBufferPointer { dx in
                    let (dy, a, dx) = (SendablePointer(dy.baseAddress!), SendablePointer(a.baseAddress!), SendablePointer(dx.baseAddress!))
                    Parallel.forEach(planes, threads: threadCount) { _, plane in
                        let target = dx.pointer + plane * inputPlane
                        target.update(repeating: 0, count: inputPlane)
                        for o in (plane * outputPlane)..<((plane + 1) * outputPlane) {
                            let chosen = Int(a.pointer[o])
                            if chosen >= 0 { target[chosen] += dy.pointer[o] }
                        }
                    }
                }
            }
        }
        return gradInput
    }

    /// `y = (Σ of the window's in-image taps) / divisor`, the divisor `kH·kW` when
    /// `countIncludesPadding`, else the number of in-image taps (0 for a window without any).
    public func avgPool2dForward(input: Tensor, geometry g: Pool2DGeometry) -> Tensor {
        let (rows, columns) = PoolWindows.of(g)
        return windowAverage(input, rows: rows, columns: columns, outputShape: g.outputShape, divisor: g.averageDivisor)
    }

    /// `avgPool2dForward` of `applying(prologue, to: input)` in one pass: each tap normalised as it
    /// is read (`BatchNormCoefficients`, the values `batchNormInference` gives), the normalised
    /// input never written. The same sums in the same order, so the same bits as the composition.
    public func avgPool2dForward(input: Tensor, prologue: BatchNormPrologue, geometry g: Pool2DGeometry) -> Tensor {
        let (rows, columns) = PoolWindows.of(g)
        return windowAverage(input, rows: rows, columns: columns, outputShape: g.outputShape, divisor: g.averageDivisor,
                             normalization: BatchNormCoefficients(prologue, channels: g.channels))
    }

    /// `∂x[tap] += ∂y / divisor` for every in-image tap of every window, per plane in output order.
    public func avgPool2dBackward(gradOutput: Tensor, geometry g: Pool2DGeometry) -> Tensor {
        let (rows, columns) = PoolWindows.of(g)
        return windowAverageBackward(gradOutput, rows: rows, columns: columns, inputShape: g.inputShape, divisor: g.averageDivisor)
    }

    /// The average over each window of `rows × columns` for every (n, c) plane, output `[N, C, P, Q]`
    /// with P = `rows.count.count`, Q = `columns.count.count`; `divisor` is the fixed window size, or
    /// 0 to divide by the number of in-image taps. With a `normalization`, each tap of channel c
    /// is normalised as channel c first. Split by plane and block of output rows; unpadded 2×2
    /// windows at stride 2 (DenseNet's transitions) eight outputs at a time (`averagePairs`).
    func windowAverage(_ input: Tensor, rows: PoolWindows, columns: PoolWindows, outputShape: Shape, divisor wholeWindow: Int,
                       normalization coefficients: BatchNormCoefficients? = nil) -> Tensor {
        withExtendedLifetime(coefficients) {
            windowAverage(input, rows: rows, columns: columns, outputShape: outputShape, divisor: wholeWindow,
                          normalization: coefficients?.normalization)
        }
    }

    private func windowAverage(_ input: Tensor, rows: PoolWindows, columns: PoolWindows, outputShape: Shape, divisor wholeWindow: Int,
                               normalization: fovea_channel_normalization?) -> Tensor {
        var output = Tensor(zeros: outputShape)
        guard outputShape.count > 0 else { return output }
        let (width, inputPlane) = (input.shape[3], input.shape[2] * input.shape[3])
        let (outputHeight, outputWidth) = (outputShape[2], outputShape[3])
        let outputPlane = outputHeight * outputWidth
        let split = WorkSplit.PlaneRows(planes: outputShape[0] * outputShape[1], rows: outputHeight, threads: threadCount)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                let (x, y) = (SendablePointer(x.baseAddress!), SendablePointer(y.baseAddress!))
                let pairs = rows.arePairs && columns.arePairs && (wholeWindow == 4 || wholeWindow == 0)
                Parallel.forEach(split.items, threads: threadCount) { _, item in
                    let (plane, outputRows) = split.block(item)
                    let source = x.pointer + plane * inputPlane
                    let channel = plane % outputShape[1]
                    for p in outputRows {
                        let (firstRow, rowTaps) = (rows.first[p], rows.count[p])
                        let target = plane * outputPlane + p * outputWidth
                        // Every output by `averagePairs` for 2×2 windows at stride 2, else one by one below.
                        let done = pairs ? Self.averagePairs(source + firstRow * width, width: width, outputs: outputWidth,
                                                             normalization: normalization, channel: channel, into: y.pointer + target) : 0
                        for q in done..<outputWidth {
                            let (firstColumn, columnTaps) = (columns.first[q], columns.count[q])
                            var sum: Float = 0
                            var h = firstRow
                            for _ in 0..<rowTaps {
                                var index = h * width + firstColumn
                                for _ in 0..<columnTaps {
                                    sum += normalization?.normalized(source[index], channel: channel) ?? source[index]
                                    index += columns.step
                                }
                                h += rows.step
                            }
                            let divisor = wholeWindow > 0 ? wholeWindow : rowTaps * columnTaps
                            y.pointer[target + q] = divisor == 0 ? 0 : sum / Float(divisor)
                        }
                    }
                }
            }
        }
        return output
    }

    /// `y[q] = (((0 + a) + b) + c) + d) / 4` for the 2×2 window of output q — a, b the input values
    /// `2q`, `2q + 1` of row `top`, c, d those of the next row, each normalised first with a
    /// `normalization` — for every q < `outputs`, eight at a time (the last 1–7 from zero-filled
    /// copies of their 2–14 inputs: DenseNet's 7-, 14- and 28-wide rows end there): the sums and
    /// order of `windowAverage`'s loop. The row holds the 2·`outputs` inputs read. Returns `outputs`.
    @inline(__always)
    static func averagePairs(_ top: UnsafePointer<Float>, width: Int, outputs: Int, normalization: fovea_channel_normalization?,
                             channel: Int, into y: UnsafeMutablePointer<Float>) -> Int {
        if GEMMKernel.cpuHasAVX512 {
            // The same operations sixteen outputs at a time in AVX-512 (the Swift SIMD below runs
            // on the baseline's 128-bit registers).
            if let normalization {
                withUnsafePointer(to: normalization) { fovea_average_pairs_avx512(top, width, outputs, $0, channel, y) }
            } else {
                fovea_average_pairs_avx512(top, width, outputs, nil, channel, y)
            }
            return outputs
        }
        @inline(__always)
        func eight(_ upper: SIMD16<Float>, _ lower: SIMD16<Float>) -> SIMD8<Float> {
            var (upper, lower) = (upper, lower)
            if let normalization {
                upper = normalization.normalized(upper, channel: channel)
                lower = normalization.normalized(lower, channel: channel)
            }
            return ((((SIMD8<Float>() + upper.evenHalf) + upper.oddHalf) + lower.evenHalf) + lower.oddHalf) / 4
        }
        let (upperRow, lowerRow) = (UnsafeRawPointer(top), UnsafeRawPointer(top + width))
        var q = 0
        while q + 8 <= outputs {
            let sums = eight(upperRow.loadUnaligned(fromByteOffset: 8 * q, as: SIMD16<Float>.self),
                             lowerRow.loadUnaligned(fromByteOffset: 8 * q, as: SIMD16<Float>.self))
            UnsafeMutableRawPointer(y + q).storeBytes(of: sums, as: SIMD8<Float>.self)
            q += 8
        }
        if q < outputs {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 40) { buffer in
                let (rows, results) = (buffer.baseAddress!, buffer.baseAddress! + 32)
                rows.update(repeating: 0, count: 32)
                rows.update(from: top + 2 * q, count: 2 * (outputs - q))
                (rows + 16).update(from: top + width + 2 * q, count: 2 * (outputs - q))
                let sums = eight(UnsafeRawPointer(rows).loadUnaligned(as: SIMD16<Float>.self),
                                 UnsafeRawPointer(rows + 16).loadUnaligned(as: SIMD16<Float>.self))
                UnsafeMutableRawPointer(results).storeBytes(of: sums, as: SIMD8<Float>.self)
                (y + q).update(from: results, count: outputs - q)
            }
        }
        return outputs
    }

    /// The adjoint of `windowAverage`: returns `inputShape`. Split by plane; each worker clears its
    /// plane just before adding into it.
    func windowAverageBackward(_ gradOutput: Tensor, rows: PoolWindows, columns: PoolWindows, inputShape: Shape, divisor wholeWindow: Int) -> Tensor {
        let planes = inputShape[0] * inputShape[1]
        guard planes > 0, gradOutput.count > 0 else { return Tensor(zeros: inputShape) }
        var gradInput = Tensor(uninitialized: inputShape)  // every plane is cleared below
        let (width, inputPlane) = (inputShape[3], inputShape[2] * inputShape[3])
        let (outputHeight, outputWidth) = (gradOutput.shape[2], gradOutput.shape[3])
        let outputPlane = outputHeight * outputWidth
        gradOutput.withUnsafeBufferPointer { dy in
            gradInput.withUnsafeMutableBufferPointer { dx in
                let (dy, dx) = (SendablePointer(dy.baseAddress!), SendablePointer(dx.baseAddress!))
                Parallel.forEach(planes, threads: threadCount) { _, plane in
                    let target = dx.pointer + plane * inputPlane
                    target.update(repeating: 0, count: inputPlane)
                    for p in 0..<outputHeight {
                        let (firstRow, rowTaps) = (rows.first[p], rows.count[p])
                        for q in 0..<outputWidth {
                            let (firstColumn, columnTaps) = (columns.first[q], columns.count[q])
                            let divisor = wholeWindow > 0 ? wholeWindow : rowTaps * columnTaps
                            guard divisor > 0 else { continue }
                            let share = dy.pointer[plane * outputPlane + p * outputWidth + q] / Float(divisor)
                            var h = firstRow
                            for _ in 0..<rowTaps {
                                var index = h * width + firstColumn
                                for _ in 0..<columnTaps {
                                    target[index] += share
                                    index += columns.step
                                }
                                h += rows.step
                            }
                        }
                    }
                }
            }
        }
        return gradInput
    }
}

extension Pool2DGeometry {
    /// Average pooling's fixed divisor `kH·kW` when padding counts, else 0 (divide by the in-image taps).
    var averageDivisor: Int { options.countIncludesPadding ? options.kernel.height * options.kernel.width : 0 }
}

/// One window of exactly 2×2 in-image taps (2×2 pooling, the 16-window path's remainder and rows
/// too narrow for it: cnn-bn's 14- and 7-wide outputs), with the four taps read directly: the
/// same rule and tap order as `MaxWindow`, without its loops.
struct MaxWindow2x2 {
    let topLeft: Int, right: Int, down: Int

    init(firstRow: Int, rowStep: Int, firstColumn: Int, columnStep: Int, width: Int) {
        (topLeft, right, down) = (firstRow * width + firstColumn, columnStep, rowStep * width)
    }

    /// Writes the maximum and its flat index in the plane; false (nothing written) when a tap is
    /// NaN, which the scalar rule then handles.
    @inline(__always)
    func maximum(in plane: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>,
                 argmax: UnsafeMutablePointer<Int32>) -> Bool {
        let taps = (topLeft, topLeft + right, topLeft + down, topLeft + down + right)
        let values = (plane[taps.0], plane[taps.1], plane[taps.2], plane[taps.3])
        guard !(values.0.isNaN || values.1.isNaN || values.2.isNaN || values.3.isNaN) else { return false }
        // Selects, not branches: which tap wins is unpredictable on real data.
        var (best, chosen) = (values.0, taps.0)
        chosen = values.1 > best ? taps.1 : chosen
        best = values.1 > best ? values.1 : best
        chosen = values.2 > best ? taps.2 : chosen
        best = values.2 > best ? values.2 : best
        chosen = values.3 > best ? taps.3 : chosen
        best = values.3 > best ? values.3 : best
        output.pointee = best
        argmax.pointee = Int32(chosen)
        return true
    }
}

/// Sixteen neighbouring max-pooling windows of one output row at once (outputs `firstOutput…+15`),
/// where every one lies inside the row (all `kernel` column taps, dilation 1) and the row holds the
/// 16·stride + kernel floats the strided loads read; stride 1 or 2. Same rule and tap order as
/// `MaxWindow`, lane by lane, so the same values and argmax.
struct MaxWindows16 {
    let firstColumn: Int, kernel: Int, stride: Int, width: Int

    init?(firstOutput q: Int, columns: PoolWindows, kernel: Int, stride: Int, width: Int) {
        guard stride == 1 || stride == 2, columns.step == 1, q + 16 <= columns.count.count,
              columns.count[q] == kernel, columns.count[q + 15] == kernel,
              columns.first[q] + kernel - 1 + 16 * stride <= width else { return nil }
        (firstColumn, self.kernel, self.stride, self.width) = (columns.first[q], kernel, stride, width)
    }

    /// Lanes `first[q + l] = first[q] + l·stride`, `l < 16`.
    @inline(__always)
    private func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        stride == 1 ? UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
                    : UnsafeRawPointer(p).loadUnaligned(as: SIMD32<Float>.self).evenHalf
    }

    /// Writes the 16 maxima and their flat indices in the plane; false (nothing written) when a
    /// window holds a NaN, which the scalar rule then handles.
    @inline(__always)
    func maximum(in plane: UnsafeMutablePointer<Float>, firstRow: Int, rowTaps: Int, rowStep: Int,
                 into output: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>) -> Bool {
        let lanes = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) &* Int32(stride)
        var rowStart = firstRow * width + firstColumn
        var best = load(plane + rowStart)
        var chosen = lanes &+ Int32(rowStart)
        var sawNaN = SIMDMask<SIMD16<Int32>>(repeating: false)
        for _ in 0..<rowTaps {
            for j in 0..<kernel {
                let value = load(plane + rowStart + j)
                let takes = value .> best
                best.replace(with: value, where: takes)
                chosen.replace(with: lanes &+ Int32(rowStart + j), where: takes)
                sawNaN .|= value .!= value
            }
            rowStart += rowStep * width
        }
        guard !any(sawNaN) else { return false }
        UnsafeMutableRawPointer(output).storeBytes(of: best, as: SIMD16<Float>.self)
        UnsafeMutableRawPointer(argmax).storeBytes(of: chosen, as: SIMD16<Int32>.self)
        return true
    }
}
