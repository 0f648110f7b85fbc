import CFoveaKernels

/// One GEMM micro-kernel and the cache blocking that suits it:
/// `C[0..<m, 0..<n] (+)= Apanel · Bpanel` for an `mr × nr` register tile (see `CFoveaKernels.h`),
/// Apanel being `kc` steps of `mr` floats and Bpanel `kc` steps of `nr` floats.
///
/// Why C: Swift's default x86-64 target has neither AVX2/FMA nor AVX-512, and a package may not
/// raise it for its users without unsafe flags. The C kernels get their instruction sets through
/// per-function `target` attributes and are used only after a CPU check. The portable Swift
/// kernel compiles to SSE and is always available.
///
/// Blocking (BLIS terms): a `kc × nr` B panel stays in L1 while every A panel of the `mc × kc`
/// block (in L2) passes it; `nc` columns of B are packed at a time.
package struct GEMMKernel: Sendable, CustomStringConvertible {
    /// A C function pointer (no closure context, so calling it per tile costs no reference counting).
    package typealias Function = @convention(c) (
        _ kc: Int, _ a: UnsafePointer<Float>?, _ b: UnsafePointer<Float>?, _ c: UnsafeMutablePointer<Float>?,
        _ ldc: Int, _ m: Int32, _ n: Int32, _ accumulate: Int32
    ) -> Void
    /// The same tile with B read from an image instead of a packed panel (`ShiftedImageConvolution`):
    /// step p's `nr` values are `image[offsets[p] + j]`, j < n (see `CFoveaKernels.h`).
    package typealias ShiftedImageFunction = @convention(c) (
        _ kc: Int, _ a: UnsafePointer<Float>?, _ image: UnsafePointer<Float>?, _ offsets: UnsafePointer<Int32>?,
        _ c: UnsafeMutablePointer<Float>?, _ ldc: Int, _ m: Int32, _ n: Int32, _ accumulate: Int32
    ) -> Void

    /// E.g. `avx512 12×32 (C)`.
    package let name: String
    /// Register tile rows and columns.
    package let mr: Int, nr: Int
    /// Rows of A per L2 block (a multiple of `mr`), depth per block, columns of B per packed block
    /// (a multiple of `nr`).
    package let mc: Int, kc: Int, nc: Int
    let function: Function
    /// This tile's shifted-image kernel (the same FMAs in the same order as `function`), or nil
    /// where there is none (the portable kernel): then the shifted-image algorithm does not run.
    let shiftedImage: ShiftedImageFunction?
    /// The instruction set of the C kernel (`.portable` for the Swift one): which C packers and
    /// convolution kernels can run beside it.
    package enum InstructionSet: Sendable { case avx512, avx2, portable }
    package let instructionSet: InstructionSet
    /// Kernels for the ragged last A panel of a product, smallest first: each computes only the
    /// first `rows` rows of an MR-row panel (the same FMAs per row as `function`, so the same
    /// bits). A product with m = 64 on the 12-row kernel ends with a 4-row panel, which `function`
    /// would compute as 12.
    package let raggedPanels: [(rows: Int, function: Function)]
    /// A C packer that writes `rows` rows of a row-major matrix as `length` steps of `width` floats
    /// (zero past `rows`) by register transposes, for this kernel's instruction set:
    /// `fovea_pack_transposed_avx512` or `_avx2`.
    package typealias TransposingPacker = @convention(c) (
        _ a: UnsafePointer<Float>?, _ lda: Int, _ rows: Int32, _ length: Int, _ width: Int32, _ out: UnsafeMutablePointer<Float>?
    ) -> Void

    /// Whether this is an AVX-512 kernel: the CPU has AVX-512F, so the AVX-512 C packers
    /// (`fovea_pack_transposed_avx512`, the convolution panel packers) and the AVX-512 convolution
    /// and Winograd kernels can run beside it.
    var isAVX512: Bool { instructionSet == .avx512 }

    /// This kernel's transposing packer (nil for the portable kernel, which packs in Swift). The
    /// values packed are the same either way.
    package var transposingPacker: TransposingPacker? {
        switch instructionSet {
        case .avx512: { a, lda, rows, length, width, out in fovea_pack_transposed_avx512(a, lda, rows, length, width, out) }
        case .avx2: { a, lda, rows, length, width, out in fovea_pack_transposed_avx2(a, lda, rows, length, width, out) }
        case .portable: nil
        }
    }

    package var description: String { name }

    /// - Parameter instructionSet: the C kernel's (the CPU must have it); packs with its packers.
    package init(name: String, mr: Int, nr: Int, mc: Int, kc: Int, nc: Int, instructionSet: InstructionSet,
                 shiftedImage: ShiftedImageFunction? = nil, raggedPanels: [(rows: Int, function: Function)] = [],
                 function: Function) {
        precondition(mc % mr == 0 && nc % nr == 0, "GEMMKernel \(name): mc must be a multiple of mr and nc of nr")
        precondition(raggedPanels.map(\.rows) == raggedPanels.map(\.rows).sorted() && raggedPanels.allSatisfy { $0.rows < mr },
                     "GEMMKernel \(name): ragged panels must be sorted and narrower than mr")
        (self.name, self.mr, self.nr, self.mc, self.kc, self.nc) = (name, mr, nr, mc, kc, nc)
        (self.instructionSet, self.shiftedImage, self.function) = (instructionSet, shiftedImage, function)
        self.raggedPanels = raggedPanels
    }

    /// The kernel for a tile of `liveRows` ≤ `mr` rows: the narrowest ragged-panel kernel that
    /// covers them, else `function`.
    @inline(__always)
    func function(forRows liveRows: Int) -> Function {
        if liveRows < mr { for ragged in raggedPanels where liveRows <= ragged.rows { return ragged.function } }
        return function
    }

    /// 12×32 with AVX-512F: 24 zmm accumulators. KC 256 keeps the 32 KiB B panel plus the 12 KiB
    /// A panel within Zen 5's 48 KiB L1D; MC 516 (43 panels) makes the A block 516 KiB of the
    /// 1 MiB L2 and lets every convolution with up to 516 output channels take the single-A-block
    /// path of `PackedGEMM.compute`.
    package static let avx512 = GEMMKernel(
        name: "avx512 12×32 (C)", mr: 12, nr: 32, mc: 516, kc: 256, nc: 4096, instructionSet: .avx512,
        shiftedImage: { kc, a, image, offsets, c, ldc, m, n, accumulate in
            fovea_shifted_image_kernel_12x32_avx512(kc, a, image, offsets, c, ldc, m, n, accumulate)
        },
        raggedPanels: [
            (4, { kc, a, b, c, ldc, m, n, accumulate in fovea_sgemm_kernel_12x32_rows4_avx512(kc, a, b, c, ldc, m, n, accumulate) }),
            (8, { kc, a, b, c, ldc, m, n, accumulate in fovea_sgemm_kernel_12x32_rows8_avx512(kc, a, b, c, ldc, m, n, accumulate) }),
        ]
    ) { kc, a, b, c, ldc, m, n, accumulate in fovea_sgemm_kernel_12x32_avx512(kc, a, b, c, ldc, m, n, accumulate) }

    /// 6×16 with AVX2+FMA: 12 ymm accumulators.
    package static let avx2 = GEMMKernel(
        name: "avx2-fma 6×16 (C)", mr: 6, nr: 16, mc: 144, kc: 256, nc: 4080, instructionSet: .avx2,
        shiftedImage: { kc, a, image, offsets, c, ldc, m, n, accumulate in
            fovea_shifted_image_kernel_6x16_avx2(kc, a, image, offsets, c, ldc, m, n, accumulate)
        }
    ) { kc, a, b, c, ldc, m, n, accumulate in fovea_sgemm_kernel_6x16_avx2(kc, a, b, c, ldc, m, n, accumulate) }

    /// 6×16 in Swift: six rows of `SIMD16<Float>` accumulators.
    package static let portable = GEMMKernel(
        name: "portable 6×16 (Swift SIMD)", mr: 6, nr: 16, mc: 144, kc: 256, nc: 4080, instructionSet: .portable
    ) { kc, a, b, c, ldc, m, n, accumulate in
        guard let a, let b, let c else { return }
        var r0 = SIMD16<Float>(), r1 = SIMD16<Float>(), r2 = SIMD16<Float>()
        var r3 = SIMD16<Float>(), r4 = SIMD16<Float>(), r5 = SIMD16<Float>()
        let vectors = UnsafeRawPointer(b)
        for p in 0..<kc {
            let bv = vectors.loadUnaligned(fromByteOffset: p * 64, as: SIMD16<Float>.self)
            let ap = a + p * 6
            r0 = ap[0] * bv + r0
            r1 = ap[1] * bv + r1
            r2 = ap[2] * bv + r2
            r3 = ap[3] * bv + r3
            r4 = ap[4] * bv + r4
            r5 = ap[5] * bv + r5
        }
        let rows = [r0, r1, r2, r3, r4, r5]
        for i in 0..<Int(m) {
            let row = c + i * ldc
            for j in 0..<Int(n) { row[j] = accumulate != 0 ? row[j] + rows[i][j] : rows[i][j] }
        }
    }

    /// The same kernel with other cache blocks (tests use tiny ones to reach every block edge).
    package func withBlocking(mc: Int, kc: Int, nc: Int) -> GEMMKernel {
        GEMMKernel(name: "\(name) mc\(mc) kc\(kc) nc\(nc)", mr: mr, nr: nr, mc: mc, kc: kc, nc: nc,
                   instructionSet: instructionSet, shiftedImage: shiftedImage, raggedPanels: raggedPanels, function: function)
    }

    /// The same kernel computing every tile in full, ragged last panels too (tests compare the two).
    package func withoutRaggedPanels() -> GEMMKernel {
        GEMMKernel(name: "\(name) full panels", mr: mr, nr: nr, mc: mc, kc: kc, nc: nc,
                   instructionSet: instructionSet, shiftedImage: shiftedImage, function: function)
    }

    /// Whether this CPU runs AVX-512 (F): the AVX-512 kernel here, and the AVX-512 C helpers the
    /// Dispatch backend calls whatever kernel a device was given (phase planes, 2×2 pooling).
    package static let cpuHasAVX512 = fovea_cpu_has_avx512f() != 0

    /// The kernels this CPU can run, fastest first (the portable one is always last).
    package static let available: [GEMMKernel] =
        (cpuHasAVX512 ? [avx512] : []) + (fovea_cpu_has_avx2_fma() != 0 ? [avx2] : []) + [portable]

    /// The kernel the Dispatch backend uses: AVX-512 → AVX2+FMA → portable Swift.
    package static let best: GEMMKernel = available[0]

    /// Whether this is one of the C kernels for a CPU extension (AVX-512, AVX2+FMA), not the
    /// portable Swift one.
    package var isNative: Bool { instructionSet != .portable }
}
