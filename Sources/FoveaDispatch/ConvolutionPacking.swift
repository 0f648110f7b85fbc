import CFoveaKernels
import FoveaCore
import FoveaKernels

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
/// With the AVX-512 kernel (32-column panels) or the AVX2 one (16) each panel is packed in C
/// instead (`fovea_pack_convolution_panel32_avx512`, `fovea_pack_convolution_panel16_avx2`:
/// masked loads per run, strided loads or masked gathers for sw > 1), which writes the same
/// values several times faster.
struct ConvolutionPacking {
    let geometry: Conv2DGeometry
    /// The image's first element of the group's first channel: channel c₀ + c starts at `image + c·H·W`.
    let image: UnsafePointer<Float>
    let nr: Int
    /// The C packer that packs the panels, or nil for the Swift loop below.
    let vectorPacker: VectorPacker?
    let window: fovea_convolution_window

    /// The C packers, by panel width.
    enum VectorPacker {
        /// 32-column panels (the CPU must have AVX-512F).
        case avx512
        /// 16-column panels (the CPU must have AVX2 and FMA), for one image whose padded plane
        /// offsets fit in 32 bits.
        case avx2

        /// The packer of `nr`-column panels for `g` where there is one (see `init(geometry:…)`).
        init?(nr: Int, geometry g: Conv2DGeometry) {
            let o = g.options
            let paddedPlane = (g.inputHeight + 2 * o.padding.height) * (g.inputWidth + 2 * o.padding.width)
            switch nr {
            case 32: self = .avx512
            case 16 where paddedPlane <= Int(Int32.max) / 2: self = .avx2
            default: return nil
            }
        }

        /// Whether the packer applies a batch-norm prologue itself (`packPanel(…normalization:…)`);
        /// where not (AVX-512), the caller applies it to the packed panel.
        var normalizes: Bool { self == .avx2 }

        /// Packs one panel: steps `firstTap..<firstTap + depth`, columns `firstColumn..<firstColumn + live`
        /// of `window` over `image`, into `out` (see `fovea_pack_convolution_panel32_avx512`), each
        /// value of channel c of `image` then normalised as channel c by `normalization` (only
        /// where the packer `normalizes`; else nil).
        func packPanel(_ window: UnsafePointer<fovea_convolution_window>, _ image: UnsafePointer<Float>, firstColumn: Int, live: Int32,
                       firstTap: Int, depth: Int, normalization: fovea_channel_normalization? = nil,
                       into out: UnsafeMutablePointer<Float>) {
            switch self {
            case .avx512:
                precondition(normalization == nil, "ConvolutionPacking: the AVX-512 packer does not normalise")
                fovea_pack_convolution_panel32_avx512(window, image, firstColumn, live, firstTap, depth, out)
            case .avx2:
                guard let normalization else {
                    return fovea_pack_convolution_panel16_avx2(window, image, firstColumn, live, firstTap, depth, nil, out)
                }
                withUnsafePointer(to: normalization) {
                    fovea_pack_convolution_panel16_avx2(window, image, firstColumn, live, firstTap, depth, $0, out)
                }
            }
        }
    }

    /// - Parameter vectorPanels: pack with the C packer of the panel width `nr` where there is one
    ///   (32: AVX-512, 16: AVX2); the CPU must have that instruction set (a native `GEMMKernel`
    ///   of that width runs on it).
    init(geometry g: Conv2DGeometry, image: UnsafePointer<Float>, nr: Int, vectorPanels: Bool) {
        (self.geometry, self.image, self.nr) = (g, image, nr)
        vectorPacker = vectorPanels ? VectorPacker(nr: nr, geometry: g) : nil
        window = fovea_convolution_window(g)
    }

    /// An `Im2colConvolution.ColumnPacker` in C for the kernel's instruction set
    /// (`fovea_im2col_avx512` or `_avx2`: plain im2col rows, copied in vectors); same values as
    /// `Im2col.pack`. Nil for the portable kernel.
    static func vectorIm2col(for kernel: GEMMKernel) -> ColumnPacker? {
        let im2col: Im2colFunction
        switch kernel.instructionSet {
        case .avx512: im2col = { fovea_im2col_avx512($0, $1, $2, $3, $4, $5, $6) }
        case .avx2: im2col = { fovea_im2col_avx2($0, $1, $2, $3, $4, $5, $6) }
        case .portable: return nil
        }
        return { image, g, channels, columns, out in
            withUnsafePointer(to: fovea_convolution_window(g)) { window in
                im2col(window, image + channels.lowerBound * g.inputHeight * g.inputWidth, columns.lowerBound,
                       columns.count, 0, channels.count * g.kernelHeight * g.kernelWidth, out)
            }
        }
    }

    /// An `Im2colConvolution.ColumnAccumulator` in C for the kernel's instruction set
    /// (`fovea_col2im_avx512` or `_avx2`); it adds in `Im2col.accumulate`'s order, so the sums are
    /// the same. Nil for the portable kernel.
    static func vectorCol2im(for kernel: GEMMKernel) -> ColumnAccumulator? {
        let col2im: Col2imFunction
        switch kernel.instructionSet {
        case .avx512: col2im = { fovea_col2im_avx512($0, $1, $2, $3, $4, $5, $6) }
        case .avx2: col2im = { fovea_col2im_avx2($0, $1, $2, $3, $4, $5, $6) }
        case .portable: return nil
        }
        return { columns, g, channels, columnRange, image in
            withUnsafePointer(to: fovea_convolution_window(g)) { window in
                col2im(window, columns, columnRange.lowerBound, columnRange.count, 0,
                       channels.count * g.kernelHeight * g.kernelWidth, image + channels.lowerBound * g.inputHeight * g.inputWidth)
            }
        }
    }

    private typealias Im2colFunction = @convention(c) (
        UnsafePointer<fovea_convolution_window>?, UnsafePointer<Float>?, Int, Int, Int, Int, UnsafeMutablePointer<Float>?
    ) -> Void
    private typealias Col2imFunction = @convention(c) (
        UnsafePointer<fovea_convolution_window>?, UnsafePointer<Float>?, Int, Int, Int, Int, UnsafeMutablePointer<Float>?
    ) -> Void

    /// With a `normalization` (only where `vectorPacker` `normalizes`), each packed value of
    /// channel c (of `image`) is normalised as channel c.
    func pack(rows: Int, depth: Int, columns: Int, count: Int, normalization: fovea_channel_normalization? = nil,
              into out: UnsafeMutablePointer<Float>) {
        if let vectorPacker {
            let width = self.nr
            withUnsafePointer(to: window) { window in
                for panel in stride(from: 0, to: count, by: width) {
                    vectorPacker.packPanel(window, image, firstColumn: columns + panel, live: Int32(min(width, count - panel)),
                                           firstTap: rows, depth: depth, normalization: normalization, into: out + panel * depth)
                }
            }
            return
        }
        precondition(normalization == nil, "ConvolutionPacking: only the AVX2 packer normalises")
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
            // A panel's columns as runs of one output row each: (first lane, output row p, first q, length).
            withUnsafeTemporaryAllocation(of: Int.self, capacity: 4 * nr) { runs in
                for panel in stride(from: 0, to: count, by: nr) {
                    let live = min(nr, count - panel)
                    var runCount = 0
                    var lane = 0
                    var p = (columns + panel) / q, qStart = columns + panel - p * q
                    while lane < live {
                        let length = min(q - qStart, live - lane)
                        (runs[4 * runCount], runs[4 * runCount + 1], runs[4 * runCount + 2], runs[4 * runCount + 3]) = (lane, p, qStart, length)
                        runCount += 1
                        lane += length
                        p += 1
                        qStart = 0
                    }
                    let destination = out + panel * depth
                    // The tap of the first step, advanced step by step.
                    var s = rows % kw, r = (rows / kw) % kh, c = rows / (kw * kh)
                    for step in 0..<depth {
                        let lanes = destination + step * nr
                        let rowShift = r * o.dilation.height - o.padding.height
                        let columnShift = s * o.dilation.width - o.padding.width
                        let (validStart, validEnd) = (valid[2 * s], valid[2 * s + 1])
                        let channel = image + c * plane
                        for index in 0..<runCount {
                            let (first, p, qStart, length) = (runs[4 * index], runs[4 * index + 1], runs[4 * index + 2], runs[4 * index + 3])
                            let target = lanes + first
                            let ih = p * sh + rowShift
                            let qEnd = qStart + length
                            guard ih >= 0 && ih < h else {
                                target.update(repeating: 0, count: length)
                                continue
                            }
                            let source = channel + ih * w + columnShift
                            if sw == 1 && qStart >= validStart && qEnd <= validEnd {
                                // The next panels read on along the same input row: fetch it ahead.
                                fovea_prefetch(source + qStart + nr)
                                fovea_prefetch(source + qStart + nr + 16)
                                Self.copy(from: source + qStart, to: target, count: length)
                                continue
                            }
                            let copyStart = min(max(qStart, validStart), qEnd)
                            let copyEnd = max(min(qEnd, validEnd), copyStart)
                            let lead = copyStart - qStart
                            for i in 0..<lead { target[i] = 0 }
                            let copied = target + lead
                            let read = source + copyStart * sw
                            if sw == 1 {
                                Self.copy(from: read, to: copied, count: copyEnd - copyStart)
                            } else {
                                for i in 0..<(copyEnd - copyStart) { copied[i] = read[i * sw] }
                            }
                            for i in (copyEnd - qStart)..<length { target[i] = 0 }
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

    /// Contiguous copy; whole 16-float vectors first.
    @inline(__always) private static func copy(from source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        let from = UnsafeRawPointer(source), to = UnsafeMutableRawPointer(target)
        while i + 16 <= count {
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self), toByteOffset: 4 * i, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count { target[i] = source[i]; i += 1 }
    }
}

@inline(__always) private func floorDivision(_ a: Int, by b: Int) -> Int {
    let quotient = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? quotient - 1 : quotient
}

@inline(__always) private func ceilDivision(_ a: Int, by b: Int) -> Int { -floorDivision(-a, by: b) }

extension fovea_convolution_window {
    /// The window of `g` for the C packers (`conv_pack_avx512.c`).
    init(_ g: Conv2DGeometry) {
        let o = g.options
        self.init(height: g.inputHeight, width: g.inputWidth, outputHeight: g.outputHeight, outputWidth: g.outputWidth,
                  imageSize: g.inputChannels * g.inputHeight * g.inputWidth,
                  kernelHeight: g.kernelHeight, kernelWidth: g.kernelWidth,
                  strideHeight: o.stride.height, strideWidth: o.stride.width,
                  padHeight: o.padding.height, padWidth: o.padding.width,
                  dilationHeight: o.dilation.height, dilationWidth: o.dilation.width)
    }
}
