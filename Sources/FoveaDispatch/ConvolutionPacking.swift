import FoveaCore

/// Packs the GEMM's B panels of a convolution straight from the NCHW image, without writing the
/// im2col matrix first.
///
/// The implicit column matrix of one image and group (see `Im2col`) has one row per tap
/// t = (c·R + r)·S + s of the group's input channels and one column per output position
/// j = p·Q + q:
///
///     col[t, j] = x[c₀ + c, p·sh − ph + r·dh, q·sw − pw + s·dw]   (0 outside the image)
///
/// `pack` writes rows `rows..<rows+depth`, columns `columns..<columns+count` of it in the
/// layout `PackedGEMM.compute` expects: panels of `nr` columns, panel i holding `depth` steps of
/// `nr` values, columns past `count` zero. It fills one panel at a time (the panel stays in L1);
/// within a step, the panel's columns fall into runs of one output row each, and each run is
/// leading padding, a strided read of one input row (contiguous when sw = 1), trailing padding.
struct ConvolutionPacking {
    let geometry: Conv2DGeometry
    /// The image's first element of the group's first channel: channel c₀ + c starts at `image + c·H·W`.
    let image: UnsafePointer<Float>
    let nr: Int

    func pack(rows: Int, depth: Int, columns: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        let g = geometry
        let o = g.options
        let (h, w, q) = (g.inputHeight, g.inputWidth, g.outputWidth)
        let (kh, kw) = (g.kernelHeight, g.kernelWidth)
        let (sh, sw) = (o.stride.height, o.stride.width)
        let plane = h * w
        let nr = self.nr
        // For each kernel column s: the output columns whose tap lies inside the image.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * kw) { valid in
            for s in 0..<kw {
                let shift = s * o.dilation.width - o.padding.width
                valid[2 * s] = max(0, ceilDivision(-shift, by: sw))
                valid[2 * s + 1] = max(valid[2 * s], min(q, floorDivision(w - 1 - shift, by: sw) + 1))
            }
            for panel in stride(from: 0, to: count, by: nr) {
                let destination = out + panel * depth
                let live = min(nr, count - panel)
                let firstColumn = columns + panel
                // The tap of the first step, advanced step by step.
                var s = rows % kw, r = (rows / kw) % kh, c = rows / (kw * kh)
                for step in 0..<depth {
                    let lanes = destination + step * nr
                    let rowShift = r * o.dilation.height - o.padding.height
                    let columnShift = s * o.dilation.width - o.padding.width
                    let (validStart, validEnd) = (valid[2 * s], valid[2 * s + 1])
                    let channel = image + c * plane
                    var lane = 0
                    var p = firstColumn / q, qStart = firstColumn - p * q
                    while lane < live {
                        let run = min(q - qStart, live - lane)
                        let qEnd = qStart + run
                        let ih = p * sh + rowShift
                        if ih < 0 || ih >= h {
                            (lanes + lane).update(repeating: 0, count: run)
                        } else {
                            let copyStart = min(max(qStart, validStart), qEnd)
                            let copyEnd = max(min(qEnd, validEnd), copyStart)
                            let lead = copyStart - qStart
                            (lanes + lane).update(repeating: 0, count: lead)
                            let target = lanes + lane + lead
                            let source = channel + ih * w + copyStart * sw + columnShift
                            let copies = copyEnd - copyStart
                            if sw == 1 {
                                for i in 0..<copies { target[i] = source[i] }
                            } else {
                                for i in 0..<copies { target[i] = source[i * sw] }
                            }
                            (target + copies).update(repeating: 0, count: qEnd - copyEnd)
                        }
                        lane += run
                        p += 1
                        qStart = 0
                    }
                    (lanes + live).update(repeating: 0, count: nr - live)
                    s += 1
                    if s == kw {
                        s = 0
                        r += 1
                        if r == kh { r = 0; c += 1 }
                    }
                }
            }
        }
    }
}

@inline(__always) private func floorDivision(_ a: Int, by b: Int) -> Int {
    let quotient = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? quotient - 1 : quotient
}

@inline(__always) private func ceilDivision(_ a: Int, by b: Int) -> Int { -floorDivision(-a, by: b) }
