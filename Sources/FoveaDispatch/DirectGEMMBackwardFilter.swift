import CFoveaKernels
import FoveaCore

/// The Dispatch backend's backward-filter with the AVX-512 kernel: per group and image one packed GEMM
///
///     ∂W_group [K/g × (C/g)·R·S] (+)= ∂y[n, group's K/g channels] [K/g × P·Q] · colᵀ [P·Q × (C/g)·R·S]
///
/// whose B panels (32 taps × a depth block of output positions) are made straight from the image
/// (`fovea_pack_convolution_transposed_panel32_avx512`: the panel's im2col rows into a per-thread
/// scratch of at most 32 × KC floats that stays in cache, then a register transpose), so no im2col
/// tile is written to memory and no workspace is needed beyond that scratch.
///
/// **Split**: the taps (GEMM columns) in whole 32-wide panels, `parts` blocks per group. Images are
/// summed one after another inside every block, and every element of ∂W is reduced over positions
/// by the same sequence of micro-kernel calls whatever the blocks are, so results are bit-identical
/// at any thread count.
struct DirectGEMMBackwardFilter: Sendable {
    let threads: Int
    let kernel: GEMMKernel

    /// The fewest tap panels (over all groups) a layer needs to take this path: with fewer, two
    /// workers could not share it (those layers keep `Im2colConvolution`'s channel blocks). A fixed
    /// number, not the thread count, so that the choice (hence the rounding) is the same at any
    /// thread count.
    static let minimumPanels = 4

    /// Taken for non-pointwise layers with at least `minimumPanels` tap panels, AVX-512 kernel only.
    func handles(_ g: Conv2DGeometry) -> Bool {
        let pointwise = g.kernelHeight == 1 && g.kernelWidth == 1 && g.options.stride == 1 && g.options.padding == 0
        return kernel.transposingPacker && kernel.nr == 32 && !pointwise && panels(g) * g.groups >= Self.minimumPanels
    }

    private func panels(_ g: Conv2DGeometry) -> Int { (g.columnRows + 31) / 32 }

    func backwardFilter(gradOutput: Tensor, input: Tensor, geometry g: Conv2DGeometry) -> Tensor {
        // Every element is written (stored at image 0), so only an empty batch needs zeros.
        var gradWeight = g.batch > 0 ? Tensor(uninitialized: g.weightShape) : Tensor(zeros: g.weightShape)
        let (m, n, positions) = (g.outputChannelsPerGroup, g.columnRows, g.columnCount)
        let panels = panels(g)
        let parts = min(panels, max(1, (2 * threads + g.groups - 1) / g.groups))
        let panelsPerPart = (panels + parts - 1) / parts
        let plane = g.inputHeight * g.inputWidth
        let kernel = self.kernel
        let o = g.options
        var window = fovea_convolution_window(
            height: g.inputHeight, width: g.inputWidth, outputWidth: g.outputWidth,
            kernelHeight: g.kernelHeight, kernelWidth: g.kernelWidth,
            strideHeight: o.stride.height, strideWidth: o.stride.width,
            padHeight: o.padding.height, padWidth: o.padding.width,
            dilationHeight: o.dilation.height, dilationWidth: o.dilation.width)
        gradOutput.withUnsafeBufferPointer { dy in
            input.withUnsafeBufferPointer { x in
                gradWeight.withUnsafeMutableBufferPointer { dw in
                    withUnsafePointer(to: &window) { window in
                        let (dy, x, dw) = (SendablePointer(dy.baseAddress!), SendablePointer(x.baseAddress!), SendablePointer(dw.baseAddress!))
                        let window = SendablePointer(window)
                        Parallel.forEach(g.groups * parts, threads: threads) { _, item in
                            let (group, part) = (item / parts, item % parts)
                            let firstTap = part * panelsPerPart * 32
                            let taps = min(n, firstTap + panelsPerPart * 32) - firstTap
                            guard taps > 0 else { return }
                            guard let scratch = fovea_thread_scratch(2, 32 * kernel.kc) else {
                                fatalError("DirectGEMMBackwardFilter: could not allocate a \(32 * kernel.kc)-float scratch")
                            }
                            let result = dw.pointer + group * m * n + firstTap
                            for image in 0..<g.batch {
                                let gradients = UnsafePointer(dy.pointer + (image * g.outputChannels + group * m) * positions)
                                let source = UnsafePointer(x.pointer + (image * g.inputChannels + group * g.inputChannelsPerGroup) * plane)
                                PackedGEMM.compute(
                                    m: m, n: taps, k: positions, kernel: kernel, c: result, ldc: n, overwrite: image == 0,
                                    packA: { first, count, depth, length, packed in
                                        PackedGEMM.packA(transposed: false, a: gradients, lda: positions, rows: first, count: count,
                                                         depth: depth, length: length, alpha: 1, mr: kernel.mr,
                                                         transposingPacker: kernel.transposingPacker, into: packed)
                                    },
                                    packB: { depth, length, first, count, packed in
                                        for panel in stride(from: 0, to: count, by: 32) {
                                            fovea_pack_convolution_transposed_panel32_avx512(
                                                window.pointer, source, depth, length, firstTap + first + panel,
                                                Int32(min(32, count - panel)), scratch, packed + panel * length)
                                        }
                                    })
                            }
                        }
                    }
                }
            }
        }
        return gradWeight
    }
}
