import FoveaCore

/// The backward-data of a stride-1 layer (one group, dilation 1, padding p ≤ R − 1 and ≤ S − 1)
/// as a channel-lanes forward. For y = conv(x, W) with W `[K, C, R, S]`,
///
///     ∂x[n, c, h, w] = Σ_{k, r, s} W[k, c, r, s] · ∂y[n, k, h + p_h − r, w + p_w − s]
///
/// (terms outside ∂y are 0), which is the forward convolution of ∂y (`[N, K, P, Q]`) with the
/// flipped, transposed weight W′[c, k, r′, s′] = W[k, c, R−1−r′, S−1−s′] (`[C, K, R, S]`) at
/// padding (R−1−p_h, S−1−p_w), stride 1: `[N, K, P, Q] → [N, C, H, W]`. The forward's tiles then
/// put the layer's *input* channels in the vector lanes and run over ∂y's phase planes, instead of
/// im2col's GEMM into column tiles of C·R·S rows per image and col2im's scatter-add out of them.
/// W′ is packed straight from W (`packFlippedTransposedWeights`), per call: it changes every
/// training step, and packing 32 × K·R·S floats per panel is small beside the convolution.
extension ChannelLanesConvolution {
    /// The forward geometry `[N, K, P, Q] → [N, C, H, W]` whose result is `g`'s backward-data; nil
    /// for layers with a stride, dilation, groups, or padding past R − 1 or S − 1. Its output is
    /// `g.inputShape` by construction: P + 2(R−1−p) − R + 1 = H when P = H + 2p − R + 1.
    static func backwardDataGeometry(_ g: Conv2DGeometry) -> Conv2DGeometry? {
        let (padding, kernel) = (g.options.padding, Size2D(height: g.kernelHeight, width: g.kernelWidth))
        guard g.groups == 1, g.options.stride == 1, g.options.dilation == 1,
              padding.height < kernel.height, padding.width < kernel.width else { return nil }
        let flippedPadding = Size2D(height: kernel.height - 1 - padding.height, width: kernel.width - 1 - padding.width)
        // Throws (nil) only for an empty weight: a layer without input channels.
        return try? Conv2DGeometry(inputShape: g.outputShape, weightShape: [g.inputChannels, g.outputChannels, kernel.height, kernel.width],
                                   options: Conv2DOptions(padding: flippedPadding))
    }

    /// W′ = flip(Wᵀ) packed as the pointwise panels of the forward `backwardDataGeometry(g)`:
    /// panel j, step t = (k·R + r′)·S + s′ holds W[k, 32j + l, R−1−r′, S−1−s′] in lane l (0 past C).
    func packFlippedTransposedWeights(_ weight: Tensor, geometry g: Conv2DGeometry) -> Tensor {
        let (lanes, channels, outputs) = (PointwiseConvolution.channelsPerPanel, g.inputChannels, g.outputChannels)
        let (rows, columns) = (g.kernelHeight, g.kernelWidth)
        let (taps, depth) = (rows * columns, outputs * rows * columns)
        let panels = (channels + lanes - 1) / lanes
        var packed = Tensor(uninitialized: [max(panels * lanes * depth, 1)])  // every element is written below
        weight.withUnsafeBufferPointer { w in
            packed.withUnsafeMutableBufferPointer { out in
                let (w, out) = (SendablePointer(w.baseAddress!), SendablePointer(out.baseAddress!))
                Parallel.forEach(panels, threads: threads) { _, panel in
                    let live = min(lanes, channels - panel * lanes)
                    var step = out.pointer + panel * lanes * depth
                    for k in 0..<outputs {
                        for r in 0..<rows {
                            for s in 0..<columns {
                                // W[k, 32·panel + l, R−1−r, S−1−s] lies taps apart in l.
                                let source = w.pointer + (k * channels + panel * lanes) * taps + (rows - 1 - r) * columns + (columns - 1 - s)
                                for l in 0..<live { step[l] = source[l * taps] }
                                for l in live..<lanes { step[l] = 0 }
                                step += lanes
                            }
                        }
                    }
                }
            }
        }
        return packed
    }

    /// `∂x` (`g.inputShape`) for `g`, whose `backwardDataGeometry` exists and is handled, with
    /// `blocking` made for that geometry.
    func backwardData(gradOutput: Tensor, weight: Tensor, geometry g: Conv2DGeometry, blocking: Blocking) -> Tensor {
        let flipped = Self.backwardDataGeometry(g)!
        return forward(input: gradOutput, packedWeights: packFlippedTransposedWeights(weight, geometry: g), bias: nil,
                       geometry: flipped, blocking: blocking)
    }
}
