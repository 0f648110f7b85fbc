import FoveaCore

/// im2col and its adjoint col2im: the rearrangement that turns convolution into GEMM.
///
/// For one image and a range of its input channels, the column matrix has one row per
/// (channel c, kernel row r, kernel column s) — row index `((c − c₀)·R + r)·S + s` — and one
/// column per output position `j = p·Q + q` in a range `j₀..<j₁`, stored row-major with row
/// stride `j₁ − j₀`:
///
///     col[(c,r,s), j] = x[c, p·sh − ph + r·dh, q·sw − pw + s·dw]   (0 outside the image)
///
/// Then the forward convolution of a group is `y = W · col`, W being `[K/groups, (C/groups)·R·S]`.
package enum Im2col {
    /// Writes the column matrix of input channels `channels` (absolute indices) and output
    /// positions `columns` of one image into `out` (`channels.count·R·S × columns.count` Floats).
    /// - Parameter image: the image's first element: channel c starts at `image + c·H·W`.
    package static func pack(
        image: UnsafePointer<Float>, geometry g: Conv2DGeometry,
        channels: Range<Int>, columns: Range<Int>, into out: UnsafeMutablePointer<Float>
    ) {
        forEachSegment(geometry: g, channels: channels, columns: columns) { segment in
            let destination = out + segment.columnOffset
            destination.update(repeating: 0, count: segment.leadingZeros)
            let copied = destination + segment.leadingZeros
            if let source = segment.sourceRow.map({ image + $0 }) {
                let step = g.options.stride.width
                if step == 1 {
                    copied.update(from: source, count: segment.copyCount)
                } else {
                    for i in 0..<segment.copyCount { copied[i] = source[i * step] }
                }
            }
            (copied + segment.copyCount).update(repeating: 0, count: segment.trailingZeros)
        }
    }

    /// The adjoint of `pack`: adds every column-matrix entry back onto the image position it
    /// was read from (`x[c, ih, iw] += col[(c,r,s), j]`). Entries that came from padding are dropped.
    package static func accumulate(
        columns col: UnsafePointer<Float>, geometry g: Conv2DGeometry,
        channels: Range<Int>, columns: Range<Int>, into image: UnsafeMutablePointer<Float>
    ) {
        forEachSegment(geometry: g, channels: channels, columns: columns) { segment in
            guard let sourceRow = segment.sourceRow else { return }
            let from = col + segment.columnOffset + segment.leadingZeros
            let to = image + sourceRow
            let step = g.options.stride.width
            if step == 1 {
                for i in 0..<segment.copyCount { to[i] += from[i] }
            } else {
                for i in 0..<segment.copyCount { to[i * step] += from[i] }
            }
        }
    }

    /// One run of a column-matrix row that lies in one output row p: `leadingZeros` padding
    /// entries, `copyCount` entries read from the image starting at `sourceRow` (stride sw),
    /// `trailingZeros` padding entries. `sourceRow` is nil when the whole run is padding.
    struct Segment {
        var columnOffset: Int
        var leadingZeros: Int
        var copyCount: Int
        var trailingZeros: Int
        var sourceRow: Int?
    }

    /// Walks the column matrix row by row and, within a row, output row by output row.
    static func forEachSegment(
        geometry g: Conv2DGeometry, channels: Range<Int>, columns: Range<Int>, _ body: (Segment) -> Void
    ) {
        let (h, w, q) = (g.inputHeight, g.inputWidth, g.outputWidth)
        let o = g.options
        let width = columns.count
        guard width > 0 else { return }
        let firstRow = columns.lowerBound / q
        let lastRow = (columns.upperBound - 1) / q
        var row = 0
        for c in channels {
            for r in 0..<g.kernelHeight {
                let rowOffset = r * o.dilation.height - o.padding.height
                for s in 0..<g.kernelWidth {
                    let columnShift = s * o.dilation.width - o.padding.width
                    // Output columns q with 0 ≤ q·sw + shift < W read the image.
                    let validStart = max(0, ceilDivide(-columnShift, o.stride.width))
                    let validEnd = min(q, floorDivide(w - 1 - columnShift, o.stride.width) + 1)
                    for p in firstRow...lastRow {
                        let qStart = p == firstRow ? columns.lowerBound - p * q : 0
                        let qEnd = p == lastRow ? columns.upperBound - p * q : q
                        let ih = p * o.stride.height + rowOffset
                        var segment = Segment(
                            columnOffset: row * width + p * q + qStart - columns.lowerBound,
                            leadingZeros: qEnd - qStart, copyCount: 0, trailingZeros: 0, sourceRow: nil)
                        if ih >= 0 && ih < h {
                            let copyStart = min(max(qStart, validStart), qEnd)
                            let copyEnd = max(min(qEnd, validEnd), copyStart)
                            segment.leadingZeros = copyStart - qStart
                            segment.copyCount = copyEnd - copyStart
                            segment.trailingZeros = qEnd - copyEnd
                            segment.sourceRow = (c * h + ih) * w + copyStart * o.stride.width + columnShift
                        }
                        body(segment)
                    }
                    row += 1
                }
            }
        }
    }
}

@inline(__always) func floorDivide(_ a: Int, _ b: Int) -> Int {
    let quotient = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? quotient - 1 : quotient
}

@inline(__always) func ceilDivide(_ a: Int, _ b: Int) -> Int { -floorDivide(-a, b) }
