import FoveaCore

/// Flat indices of an `[N, C, …]` tensor seen as N·C planes of `plane` = H·W (the product of the
/// trailing dimensions) values: `[n, c, i] → (n·C + c)·plane + i`.
struct ChannelPlanes: Sendable {
    let batch: Int, channels: Int, plane: Int

    init(_ shape: Shape) {
        batch = shape[0]
        channels = shape[1]
        plane = shape.dimensions.dropFirst(2).reduce(1, *)
    }

    /// M = N·H·W, the values a channel's statistics run over.
    var valuesPerChannel: Int { batch * plane }

    @inline(__always) subscript(_ n: Int, _ c: Int, _ i: Int) -> Int { (n * channels + c) * plane + i }
}

extension ChannelPlanes {
    /// `Σ_{n, i} term(flat index of [n, c, i])` over the M values of channel c, in a fixed order:
    /// images in order; within an image, four interleaved `Double` partial sums (index mod 4)
    /// combined as `(s0 + s1) + (s2 + s3)` and added to the running total. The order depends on
    /// the shape only, never on the thread count.
    @inline(__always)
    func sum(channel c: Int, _ term: (Int) -> Double) -> Double {
        var total: Double = 0
        for n in 0..<batch {
            let start = self[n, c, 0], end = start + plane
            var (s0, s1, s2, s3): (Double, Double, Double, Double) = (0, 0, 0, 0)
            var i = start
            while i + 4 <= end {
                s0 += term(i)
                s1 += term(i + 1)
                s2 += term(i + 2)
                s3 += term(i + 3)
                i += 4
            }
            while i < end {
                s0 += term(i)
                i += 1
            }
            total += (s0 + s1) + (s2 + s3)
        }
        return total
    }

    /// `y = (x − mean)·factor + shift` for every value of channel c, computed in `Double`.
    @inline(__always)
    func normalize(channel c: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                   mean: Double, factor: Double, shift: Double) {
        for n in 0..<batch {
            let start = self[n, c, 0]
            normalize(x + start, into: y + start, count: plane, mean: mean, factor: factor, shift: shift)
        }
    }

    /// `y[i] = (x[i] − mean)·factor + shift` for `i < count`, computed in `Double`.
    @inline(__always)
    func normalize(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int,
                   mean: Double, factor: Double, shift: Double) {
        for i in 0..<count { y[i] = Float((Double(x[i]) - mean) * factor + shift) }
    }
}
