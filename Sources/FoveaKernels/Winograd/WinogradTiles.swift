import FoveaCore

/// Steps 2 and 4 of `WinogradConvolution`: the input transform of a block of tiles and the output
/// transform of its GEMM results. Tiles are numbered over the batch: tile t is image
/// `t / (tilesHigh·tilesWide)`, tile row `ty`, tile column `tx`; its input patch is the α×α window
/// at `(ty·m − padH, tx·m − padW)` (zeros outside the image) and its output the m×m window at
/// `(ty·m, tx·m)`, clipped to P×Q. Eight tiles are transformed at once, one per `SIMD8` lane.
package struct WinogradTiles: Sendable {
    package let channels: Int, height: Int, width: Int
    package let outputChannels: Int, outputHeight: Int, outputWidth: Int
    package let paddingTop: Int, paddingLeft: Int
    package let tilesWide: Int, tilesPerImage: Int
    /// The columns (tiles) per ξ of the transformed inputs, and the row stride of the GEMM products.
    package let paddedWidth: Int
    /// The transformed inputs' columns per panel (`WinogradPlan.panelWidth`).
    package let panelWidth: Int
    /// Floats from one ξ of the transformed inputs to the next (`WinogradPlan.inputStride`).
    package let inputStride: Int

    package init(geometry g: Conv2DGeometry, plan: WinogradPlan) {
        channels = g.inputChannels
        height = g.inputHeight
        width = g.inputWidth
        outputChannels = g.outputChannels
        outputHeight = g.outputHeight
        outputWidth = g.outputWidth
        paddingTop = g.options.padding.height
        paddingLeft = g.options.padding.width
        tilesWide = plan.tilesWide
        tilesPerImage = plan.tilesHigh * plan.tilesWide
        paddedWidth = plan.paddedWidth
        panelWidth = plan.panelWidth
        inputStride = plan.inputStride
    }

    /// Where `V_ξ[c, j]` (column j of the block) sits in the transformed inputs: per ξ, panels of
    /// `panelWidth` columns, each `[C × panelWidth]` — with one panel, plain `[C × paddedWidth]` rows —
    /// `inputStride` floats apart.
    @inline(__always)
    package func inputOffset(xi: Int, channel c: Int, column j: Int) -> Int {
        let (panel, inPanel) = j.quotientAndRemainder(dividingBy: panelWidth)
        return xi * inputStride + (panel * channels + c) * panelWidth + inPanel
    }

    /// Image and top-left output position of tile `t`.
    @inline(__always)
    func origin(ofTile t: Int, outputTile m: Int) -> (image: Int, row: Int, column: Int) {
        let (image, r) = t.quotientAndRemainder(dividingBy: tilesPerImage)
        return (image, (r / tilesWide) * m, (r % tilesWide) * m)
    }

    /// `V_ξ[c, t − firstTile] = (Bᵀ d[c, t] B)_ξ` for tiles `firstTile..<firstTile+count`, into
    /// `v` at `inputOffset` (columns past `count`, up to a multiple of 8, get zeros).
    package func transformInput<T: WinogradTransform>(
        _: T.Type, _ x: UnsafePointer<Float>, firstTile: Int, count: Int, into v: UnsafeMutablePointer<Float>
    ) {
        let (m, alpha) = (T.outputTile, T.inputTile)
        let area = alpha * alpha
        let planeSize = height * width
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 2 * area) { buffer in
            let patch = buffer.baseAddress!, columns = patch + area
            for group in stride(from: 0, to: count, by: 8) {
                let lanes = min(8, count - group)
                patch.update(repeating: .zero, count: area)
                for c in 0..<channels {
                    for lane in 0..<lanes {
                        let (image, row, column) = origin(ofTile: firstTile + group + lane, outputTile: m)
                        let (top, left) = (row - paddingTop, column - paddingLeft)
                        let plane = x + (image * channels + c) * planeSize
                        if top >= 0 && top + alpha <= height && left >= 0 && left + alpha <= width {
                            for i in 0..<alpha {
                                let source = plane + (top + i) * width + left
                                for j in 0..<alpha { patch[i * alpha + j][lane] = source[j] }
                            }
                        } else {
                            for i in 0..<alpha {
                                let ih = top + i
                                let inside = ih >= 0 && ih < height
                                for j in 0..<alpha {
                                    let iw = left + j
                                    patch[i * alpha + j][lane] = inside && iw >= 0 && iw < width ? plane[ih * width + iw] : 0
                                }
                            }
                        }
                    }
                    for j in 0..<alpha { T.input(patch + j, alpha, columns + j, alpha) }  // Bᵀ·d
                    // (Bᵀ·d)·B, row by row, over the patch (zero lanes stay zero).
                    for i in 0..<alpha { T.input(columns + i * alpha, 1, patch + i * alpha, 1) }
                    for xi in 0..<area {
                        UnsafeMutableRawPointer(v + inputOffset(xi: xi, channel: c, column: group))
                            .storeBytes(of: patch[xi], as: SIMD8<Float>.self)
                    }
                }
            }
        }
    }

    /// `y[n, k, window of tile t] = (Aᵀ M[k, t] A) + bias[k]` for the tiles of the block and the
    /// output channels `outputs`; `products` holds α² parts `productStride` floats apart, each rows of
    /// `paddedWidth`, row 0 being `outputs.lowerBound`.
    package func transformOutput<T: WinogradTransform>(
        _: T.Type, _ products: UnsafePointer<Float>, productStride: Int, firstTile: Int, count: Int,
        outputChannels outputs: Range<Int>, bias: UnsafePointer<Float>, epilogue: ConvolutionEpilogue,
        into y: UnsafeMutablePointer<Float>
    ) {
        let relu = epilogue == .relu
        let zero = SIMD8<Float>(repeating: 0)
        let (m, alpha) = (T.outputTile, T.inputTile)
        let area = alpha * alpha
        let planeSize = outputHeight * outputWidth
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 2 * area) { buffer in
            let patch = buffer.baseAddress!, columns = patch + area
            for group in stride(from: 0, to: count, by: 8) {
                let lanes = min(8, count - group)
                for k in outputs {
                    let row = k - outputs.lowerBound
                    for xi in 0..<area {
                        patch[xi] = UnsafeRawPointer(products + xi * productStride + row * paddedWidth + group)
                            .loadUnaligned(as: SIMD8<Float>.self)
                    }
                    for j in 0..<alpha { T.output(patch + j, alpha, columns + j, alpha) }  // Aᵀ·M: m×α
                    for i in 0..<m { T.output(columns + i * alpha, 1, patch + i * m, 1) }  // (Aᵀ·M)·A: m×m
                    let b = SIMD8<Float>(repeating: bias[k])
                    for i in 0..<(m * m) { patch[i] += b }
                    if relu { for i in 0..<(m * m) { patch[i].replace(with: zero, where: patch[i] .< zero) } }
                    for lane in 0..<lanes {
                        let (image, top, left) = origin(ofTile: firstTile + group + lane, outputTile: m)
                        let rows = min(m, outputHeight - top), cols = min(m, outputWidth - left)
                        let destination = y + (image * outputChannels + k) * planeSize + top * outputWidth + left
                        for i in 0..<rows {
                            for j in 0..<cols { destination[i * outputWidth + j] = patch[i * m + j][lane] }
                        }
                    }
                }
            }
        }
    }
}
