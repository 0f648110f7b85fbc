import FoveaCore

/// The backward-data of a 1×1 layer without padding (one group, stride s ≥ 1) as a pointwise
/// forward. Only the input positions (s·i, s·j) are read by the layer, so
///
///     ∂x[n, c, s·i, s·j] = Σ_k W[k, c]·∂y[n, k, i, j]      (i < P, j < Q)
///
/// and every other element of ∂x is 0. The sum is the pointwise convolution of ∂y (`[N, K, P, Q]`)
/// with Wᵀ (`[C, K, 1, 1]`), which `DirectGEMMConvolution.forward(…, transposedWeight: true)` runs
/// from the weight as stored; for s > 1, `spread` then places its `[N, C, P, Q]` result on the
/// stride's grid of `[N, C, H, W]`.
extension DirectGEMMConvolution {
    /// The pointwise geometry `[N, K, P, Q] → [N, C, P, Q]` whose forward gives `g`'s backward-data
    /// (before `spread` when g's stride is not 1). Nil for layers other than 1×1, unpadded, one group.
    static func pointwiseBackwardDataGeometry(_ g: Conv2DGeometry) -> Conv2DGeometry? {
        guard g.kernelHeight == 1, g.kernelWidth == 1, g.options.padding == 0, g.groups == 1 else { return nil }
        return try? Conv2DGeometry(inputShape: g.outputShape, weightShape: [g.inputChannels, g.outputChannels, 1, 1],
                                   options: Conv2DOptions())
    }

    /// `∂x` (`g.inputShape`) from the pointwise result `dense` (`[N, C, P, Q]`): `dense[n, c, i, j]`
    /// at `(s_h·i, s_w·j)`, 0 elsewhere. Split over (n, c) planes; each element written once.
    static func spread(_ dense: Tensor, over g: Conv2DGeometry, threads: Int) -> Tensor {
        var gradInput = Tensor(uninitialized: g.inputShape)  // every element is written below
        let (height, width, rows, columns) = (g.inputHeight, g.inputWidth, g.outputHeight, g.outputWidth)
        let (rowStride, columnStride) = (g.options.stride.height, g.options.stride.width)
        let planes = g.batch * g.inputChannels
        guard planes > 0, height * width > 0 else { return gradInput }
        dense.withUnsafeBufferPointer { d in
            gradInput.withUnsafeMutableBufferPointer { dx in
                let (d, dx) = (SendablePointer(d.baseAddress!), SendablePointer(dx.baseAddress!))
                Parallel.forEach(planes, threads: threads) { _, plane in
                    for r in 0..<height {
                        let row = dx.pointer + (plane * height + r) * width
                        row.update(repeating: 0, count: width)
                        guard r % rowStride == 0, r / rowStride < rows else { continue }
                        let source = d.pointer + (plane * rows + r / rowStride) * columns
                        for j in 0..<columns { row[j * columnStride] = source[j] }
                    }
                }
            }
        }
        return gradInput
    }
}
