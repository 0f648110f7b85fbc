import FoveaCore

/// The Grand Central Dispatch backend: Fovea's own packed SIMD GEMM (`PackedGEMM`, with the
/// fastest micro-kernel the CPU runs); convolution forward by Winograd (AVX-512 tile transforms)
/// where its rule takes the layer, else by a GEMM reading B straight from the image's shifted
/// phase planes (`ShiftedImageConvolution`) or packing it from the image (`DirectGEMMConvolution`);
/// backward-data by Winograd F(4×4) or F(2×2), else im2col/col2im (in C with AVX-512 where the CPU
/// has it) + that GEMM (`GEMMBackedDevice`); backward-filter by a direct GEMM
/// (`DirectGEMMBackwardFilter`); and the other operations in `DispatchDevice+*.swift`, parallel
/// over `DispatchQueue.concurrentPerform` with `threadCount` workers. Operations it does not
/// implement go to `fallback` (normally `NaiveDevice`). Docs/Backends.md has the rules.
public struct DispatchDevice: GEMMBackedDevice {
    public let threadCount: Int
    public let fallback: (any Device)?
    public let convolution: Im2colConvolution
    public let winograd: WinogradConvolution
    /// F(2×2) Winograd for the backward-data of layers F(4×4) does not take (`smallTilesPlan`).
    let winogradSmallTiles: WinogradConvolution
    /// The micro-kernel and blocking of every GEMM the device runs.
    public let kernel: GEMMKernel
    let directConvolution: DirectGEMMConvolution
    let directBackwardFilter: DirectGEMMBackwardFilter
    let shiftedImage: ShiftedImageConvolution

    /// - Parameters:
    ///   - workspaceBytesPerWorker: the largest im2col tile one worker packs (default 8 MiB).
    ///   - workspaceLimitBytes: the most convolution workspace one call allocates over all its
    ///     workers (default 64 MiB; see `Im2colConvolution`).
    ///   - policy, winogradTileSize: when 3×3 stride-1 convolutions use Winograd (`WinogradPlan`).
    ///   - kernel: normally `GEMMKernel.best`; tests pass kernels with tiny blocking to exercise
    ///     every block edge on small shapes. It must be one of `GEMMKernel.available`.
    public init(threads: Int, fallback: (any Device)?, workspaceBytesPerWorker: Int = Im2colConvolution.defaultWorkspaceBytesPerWorker,
                workspaceLimitBytes: Int = Im2colConvolution.defaultWorkspaceLimitBytes,
                winograd policy: WinogradPolicy = .automatic, winogradTileSize: WinogradTileSize = .f4x4,
                kernel: GEMMKernel = .best) {
        threadCount = max(threads, 1)
        self.fallback = fallback
        self.kernel = kernel
        let gemm = PackedGEMM.serial(kernel: kernel)
        convolution = kernel.transposingPacker
            ? Im2colConvolution(threads: threadCount, workspaceBytesPerWorker: workspaceBytesPerWorker,
                                workspaceLimitBytes: workspaceLimitBytes, gemm: gemm, packColumns: ConvolutionPacking.vectorIm2col,
                                accumulateColumns: ConvolutionPacking.vectorCol2im)
            : Im2colConvolution(threads: threadCount, workspaceBytesPerWorker: workspaceBytesPerWorker,
                                workspaceLimitBytes: workspaceLimitBytes, gemm: gemm)
        winograd = WinogradConvolution(threads: threadCount, workspaceBytesPerWorker: workspaceBytesPerWorker,
                                       workspaceLimitBytes: workspaceLimitBytes,
                                       policy: policy, tileSize: winogradTileSize, filterCache: .shared,
                                       tileKernels: kernel.transposingPacker ? [.f4x4: .avx512, .f2x2: .avx512F2x2] : [:], gemm: gemm)
        winogradSmallTiles = WinogradConvolution(threads: threadCount, workspaceBytesPerWorker: workspaceBytesPerWorker,
                                                 workspaceLimitBytes: workspaceLimitBytes, policy: policy, tileSize: .f2x2,
                                                 filterCache: .shared, tileKernels: winograd.tileKernels, gemm: gemm)
        directConvolution = DirectGEMMConvolution(threads: threadCount, kernel: kernel, workspaceLimitBytes: workspaceLimitBytes)
        directBackwardFilter = DirectGEMMBackwardFilter(threads: threadCount, kernel: kernel, workspaceLimitBytes: workspaceLimitBytes)
        shiftedImage = ShiftedImageConvolution(threads: threadCount, kernel: kernel, workspaceLimitBytes: workspaceLimitBytes)
    }

    public var name: String { "dispatch" }
    public var serialGEMM: SerialGEMM { convolution.gemm }

    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, geometry: Conv2DGeometry) -> Tensor {
        conv2dForward(input: input, weight: weight, bias: bias, epilogue: .none, geometry: geometry)
    }

    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue, geometry: Conv2DGeometry) -> Tensor {
        if takesWinograd(geometry),
           let output = winograd.forward(input: input, weight: weight, bias: bias, epilogue: epilogue, geometry: geometry) {
            return output
        }
        if shiftedImage.pays(geometry) {
            return shiftedImage.forward(input: input, weight: weight, bias: bias, epilogue: epilogue, geometry: geometry)
        }
        return directConvolution.forward(input: input, weight: weight, bias: bias, epilogue: epilogue, geometry: geometry)
    }

    /// Forward: Winograd's buffers or the direct GEMM's packed weights; backward-data: Winograd's
    /// or the im2col tiles; backward-filter: the direct path's partial sums or the im2col tiles.
    public func convolutionWorkspaceBytes(for g: Conv2DGeometry, pass: String) -> Int {
        switch pass {
        case "forward":
            if takesWinograd(g), let bytes = winograd.workspaceBytes(for: g, pass: pass) { return bytes }
            return shiftedImage.pays(g) ? shiftedImage.workspaceBytes(g) : directConvolution.workspaceBytes(g)
        case "backward-filter" where directBackwardFilter.handles(g):
            return directBackwardFilter.workspaceBytes(g)
        case "backward-data" where smallTilesPlan(g) != nil:
            return winogradSmallTiles.workspaceBytes(for: g, pass: pass) ?? 0
        default:
            return winograd.workspaceBytes(for: g, pass: pass) ?? convolution.workspaceBytes(for: g, pass: pass)
        }
    }

    /// The F(2×2) plan for the backward-data of `g`, where F(2×2)'s plan pays (the automatic rule on
    /// its 2×2 tiles) with at least `smallTilesMinimum` tiles, and the F(4×4) rule does not take the
    /// layer or only with tiles less than 90% used: 13×13 and 14×14 layers at batch 8, whose
    /// backward-data otherwise runs im2col + col2im, or F(4×4) with 14×14 outputs in 16×16.
    /// Measured at batch 8 (Docs/Performance.md): ResNet-50 256→256 @14 1.3–1.75× (over F(4×4)),
    /// VGG16 512→512 @14 1.3–1.5×, AlexNet conv4/conv5 1.2–1.5× (over im2col). At batch 1 (49 tiles)
    /// it was slower, and forward gained nothing.
    func smallTilesPlan(_ g: Conv2DGeometry) -> WinogradPlan? {
        guard winograd.policy == .automatic, winograd.tileSize == .f4x4,
              let h = WinogradConvolution.backwardDataGeometry(g),
              let plan = winogradSmallTiles.plan(for: h), plan.tiles >= Self.smallTilesMinimum
        else { return nil }
        if let large = winograd.plan(for: h), large.coverage(h) >= 0.9 || large.coverage(h) >= plan.coverage(h) { return nil }
        return plan
    }

    static let smallTilesMinimum = 256

    public func conv2dBackwardData(gradOutput: Tensor, weight: Tensor, geometry: Conv2DGeometry) -> Tensor {
        if smallTilesPlan(geometry) != nil,
           let gradInput = winogradSmallTiles.backwardData(gradOutput: gradOutput, weight: weight, geometry: geometry) {
            return gradInput
        }
        return winograd.backwardData(gradOutput: gradOutput, weight: weight, geometry: geometry)
            ?? convolution.backwardData(gradOutput: gradOutput, weight: weight, geometry: geometry)
    }

    /// Whether forward runs Winograd: where its plan takes the layer (`FOVEA_WINOGRAD=f2x2` and
    /// tests force it with `.always`) unless the direct GEMM outruns it there.
    func takesWinograd(_ g: Conv2DGeometry) -> Bool {
        guard let plan = winograd.plan(for: g) else { return false }
        return winograd.policy == .always || !DirectGEMMConvolution.outrunsWinograd(coverage: plan.coverage(g))
    }

    public func conv2dBackwardFilter(gradOutput: Tensor, input: Tensor, geometry: Conv2DGeometry) -> Conv2DFilterGradients {
        guard directBackwardFilter.handles(geometry) else {
            return convolution.backwardFilter(gradOutput: gradOutput, input: input, geometry: geometry)
        }
        return Conv2DFilterGradients(
            weight: directBackwardFilter.backwardFilter(gradOutput: gradOutput, input: input, geometry: geometry),
            bias: Im2colConvolution.biasGradient(gradOutput, geometry: geometry, threads: threadCount))
    }
}
