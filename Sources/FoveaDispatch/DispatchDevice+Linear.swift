import CFoveaKernels
import FoveaCore

/// Fully connected forward for small batches. A GEMM with a handful of rows packs the whole weight
/// into panels and then reads it again, and its register tile is mostly empty; with N ≤
/// `streamingLinearRows` rows the weight is instead streamed once, row by row (each `W[o, ·]` is
/// contiguous), against every input row: `y[n, o] = Σ_i x[n, i]·W[o, i] + b[o]`, a vector at a
/// time (`StreamingDot`: C kernels for AVX-512 and AVX2 + FMA, several weight rows at once;
/// `dotProducts` on other CPUs). AlexNet's and VGG's classifiers at batch 1 are these (hundreds
/// of MB of weights each pass), so the time is the weight's bytes over the memory bandwidth.
///
/// Split over blocks of output features; each output is summed by one worker in one order, so the
/// results do not depend on the thread count.
extension DispatchDevice {
    /// Batches up to this many rows stream the weight; larger ones run `linearForwardByGEMM`.
    static let streamingLinearRows = 16
    /// Output features per work item.
    static let streamingLinearBlock = 32

    public func linearForward(input: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        let (n, features, outputs) = (input.shape[0], input.shape[1], weight.shape[0])
        guard n <= Self.streamingLinearRows, n > 0, features > 0, outputs > 0 else {
            return linearForwardByGEMM(input: input, weight: weight, bias: bias)
        }
        var output = Tensor(uninitialized: [n, outputs])  // every element is written below
        let biasValues = bias?.scalars
        let items = (outputs + Self.streamingLinearBlock - 1) / Self.streamingLinearBlock
        let dot = StreamingDot(kernel)
        // Several weight rows at a time (fewer beside more input rows, to keep the accumulators in
        // registers): more streams from memory, and each input vector loaded once for all of them.
        let weightRows = dot.weightRows(inputRows: n)
        Tensor.withSendablePointers(reading: input, weight, writing: &output) { x, w, y in
            Parallel.forEach(items, threads: threadCount) { _, item in
                let first = item * Self.streamingLinearBlock
                let end = min(first + Self.streamingLinearBlock, outputs)
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * 8) { sums in
                    for o in stride(from: first, to: end, by: weightRows) {
                        let rows = UnsafePointer(w.pointer + o * features)
                        let block = min(weightRows, end - o)
                        var image = 0
                        while image < n {
                            let count = min(dot.inputRows, n - image)
                            dot.run(rows, block, UnsafePointer(x.pointer + image * features), count, features, sums.baseAddress!)
                            for a in 0..<block {
                                for r in 0..<count { y.pointer[(image + r) * outputs + o + a] = sums[a * 8 + r] + (biasValues?[o + a] ?? 0) }
                            }
                            image += count
                        }
                    }
                }
            }
        }
        return output
    }

    /// `Σ_i w[i]·x[r·length + i]` for `rows` ≤ 4 consecutive rows of `x`: one pass over `w`,
    /// a 16-lane partial sum per row, the lanes added at the end, then the tail.
    @inline(__always)
    static func dotProducts(_ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, length: Int) -> SIMD4<Float> {
        var acc = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
        let (x0, x1, x2, x3) = (x, x + min(1, rows - 1) * length, x + min(2, rows - 1) * length, x + min(3, rows - 1) * length)
        func load(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD16<Float> { UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self) }
        var i = 0
        while i + 16 <= length {
            let v = load(w, i)
            acc.0 += v * load(x0, i)
            acc.1 += v * load(x1, i)
            acc.2 += v * load(x2, i)
            acc.3 += v * load(x3, i)
            i += 16
        }
        var sums = SIMD4<Float>(acc.0.sum(), acc.1.sum(), acc.2.sum(), acc.3.sum())
        while i < length {
            sums += SIMD4<Float>(repeating: w[i]) * SIMD4<Float>(x0[i], x1[i], x2[i], x3[i])
            i += 1
        }
        return sums
    }
}

/// The dot-product kernel that streams a linear layer's weight, matching the device's
/// micro-kernel's instruction set: `sums[a·8 + r] = Σ_i w[a·length + i]·x[r·length + i]` for up
/// to `weightRows(inputRows:)` weight rows × `inputRows` input rows per call.
enum StreamingDot {
    case avx512, avx2, portable

    init(_ kernel: GEMMKernel) {
        self = kernel.isAVX512 ? .avx512 : kernel.isNative ? .avx2 : .portable
    }

    /// Input rows per call: 8 for AVX-512 (32 registers), 4 for AVX2 (16), 4 portable.
    var inputRows: Int { self == .avx512 ? 8 : 4 }

    /// Weight rows per call beside `inputRows` input rows in all: 4 while the accumulators fit
    /// (≤ 4 input rows on AVX-512, ≤ 3 on AVX2), else 3; one for the portable loop.
    func weightRows(inputRows n: Int) -> Int {
        switch self {
        case .avx512: n <= 4 ? 4 : 3
        case .avx2: n <= 3 ? 4 : 3
        case .portable: 1
        }
    }

    @inline(__always)
    func run(_ w: UnsafePointer<Float>, _ weightRows: Int, _ x: UnsafePointer<Float>, _ rows: Int, _ length: Int,
             _ sums: UnsafeMutablePointer<Float>) {
        switch self {
        case .avx512: fovea_dot_row_blocks_avx512(w, length, Int32(weightRows), x, length, Int32(rows), length, sums)
        case .avx2: fovea_dot_row_blocks_avx2(w, length, Int32(weightRows), x, length, Int32(rows), length, sums)
        case .portable:
            for a in 0..<weightRows {
                let dots = DispatchDevice.dotProducts(w + a * length, x, rows: rows, length: length)
                for r in 0..<rows { sums[a * 8 + r] = dots[r] }
            }
        }
    }
}
