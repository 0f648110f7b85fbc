import FoveaCore

/// The natural size of the rounding error of a sum that may cancel.
///
/// A bias gradient `∂b[k] = Σ_{n,p,q} ∂y[n,k,p,q]` is exactly zero in exact arithmetic when the
/// layer feeds a batch norm (whose input gradient sums to zero per channel), so its largest
/// reference value says nothing about how large a float32 rounding error may be; the magnitude
/// of the terms does. For such outputs the relative error is taken against
/// `max(max |reference|, Σ|terms| of the largest channel, floor)`.
enum ReductionScale {
    /// `max_k Σ |t[n, k, …]|` over all axes but axis 1 (the channel of NCHW, the feature of
    /// `[N, O]`); 0 for a tensor of rank below 2.
    static func largestChannelAbsoluteSum(_ tensor: Tensor) -> Double {
        let shape = tensor.shape
        guard shape.rank >= 2 else { return 0 }
        let (batch, channels) = (shape[0], shape[1])
        let plane = shape.count / max(batch * channels, 1)
        var sums = [Double](repeating: 0, count: channels)
        tensor.withUnsafeBufferPointer { t in
            for n in 0..<batch {
                for k in 0..<channels {
                    let base = (n * channels + k) * plane
                    var sum = 0.0
                    for i in 0..<plane { sum += Double(abs(t[base + i])) }
                    sums[k] += sum
                }
            }
        }
        return sums.max() ?? 0
    }
}
