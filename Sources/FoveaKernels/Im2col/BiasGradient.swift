import FoveaCore

extension Im2colConvolution {
    /// `∂L/∂b[k] = Σ_{n,p,q} ∂L/∂y[n,k,p,q]` for `gradOutput` of shape [N, K, P, Q]: a [K] tensor.
    ///
    /// Each plane ∂y[n, k] is summed in Float by 64 interleaved partial sums (index mod 64, in
    /// four 16-lane vectors, combined `(v0 + v1) + (v2 + v3)` and then across lanes), plus the tail;
    /// a channel's planes are added in Double in image order. Channels are spread over `threads`
    /// workers, but the order of every sum depends on the shape alone, so the result is the same
    /// at any thread count. Memory-bound: one read of ∂y.
    package static func biasGradient(_ gradOutput: Tensor, geometry g: Conv2DGeometry, threads: Int = 1) -> Tensor {
        var result = Tensor(zeros: [g.outputChannels])
        let (positions, channels) = (g.columnCount, g.outputChannels)
        // About four items per worker, and no splitting of small tensors (less than 64 Ki values).
        let worthSplitting = g.batch * channels * positions >= 1 << 16
        let items = worthSplitting ? min(channels, 4 * max(threads, 1)) : 1
        let perItem = (channels + items - 1) / max(items, 1)
        gradOutput.withUnsafeBufferPointer { dy in
            result.withUnsafeMutableBufferPointer { db in
                let (dy, db) = (SendablePointer(dy.baseAddress!), SendablePointer(db.baseAddress!))
                Parallel.forEach(items, threads: threads) { _, item in
                    for k in min(channels, item * perItem)..<min(channels, (item + 1) * perItem) {
                        var sum: Double = 0
                        for n in 0..<g.batch {
                            sum += Double(planeSum(dy.pointer + (n * channels + k) * positions, count: positions))
                        }
                        db.pointer[k] = Float(sum)
                    }
                }
            }
        }
        return result
    }

    /// `Σ_{i<count} values[i]` in the fixed order `biasGradient` documents.
    @inline(__always)
    static func planeSum(_ values: UnsafePointer<Float>, count: Int) -> Float {
        let raw = UnsafeRawPointer(values)
        var (v0, v1, v2, v3) = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
        var i = 0
        while i + 64 <= count {
            v0 += raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
            v1 += raw.loadUnaligned(fromByteOffset: 4 * (i + 16), as: SIMD16<Float>.self)
            v2 += raw.loadUnaligned(fromByteOffset: 4 * (i + 32), as: SIMD16<Float>.self)
            v3 += raw.loadUnaligned(fromByteOffset: 4 * (i + 48), as: SIMD16<Float>.self)
            i += 64
        }
        var tail: Float = 0
        while i < count {
            tail += values[i]
            i += 1
        }
        return ((v0 + v1) + (v2 + v3)).sum() + tail
    }
}
