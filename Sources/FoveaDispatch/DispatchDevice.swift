import FoveaCore

/// The Grand Central Dispatch backend: Fovea's own packed SIMD GEMM (`PackedGEMM`, with the
/// fastest micro-kernel the CPU runs); convolution forward by Winograd (AVX-512 tile transforms)
/// where its rule takes the layer, else by a GEMM reading B straight from the image's shifted
/// phase planes (`ShiftedImageConvolution`) or packing it from the image (`DirectGEMMConvolution`);
/// backward-data by Winograd F(4×4) or F(2×2), else im2col/col2im (in C with AVX-512 where the CPU
/// has it) + that GEMM (`GEMMBackedDevice`); backward-filter by a direct GEMM
/// (`DirectGEMMBackwardFilter`), or for stride-1 layers with few outputs one reading the image's
/// shifted rows (`ShiftedImageBackwardFilter`); and the other operations in `DispatchDevice+*.swift`, parallel
/// over `DispatchQueue.concurrentPerform` with `threadCount` workers. Operations it does not
/// implement go to `fallback` (normally `NaiveDevice`). Docs/Backends.md has the rules.
public struct DispatchDevice: GEMMBackedDevice {
    public let threadCount: Int
    public let fallback: (any Device)?
    public let convolution: Im2colConvolution
    public let winograd: WinogradConvolution
    /// F(2×2) Winograd, which the cost model picks for small outputs (`winogradForward`).
    let winogradSmallTiles: WinogradConvolution
    /// The micro-kernel and blocking of every GEMM the device runs.
    public let kernel: GEMMKernel
    let directConvolution: DirectGEMMConvolution
    let directBackwardFilter: DirectGEMMBackwardFilter
    let shiftedImage: ShiftedImageConvolution
    let shiftedBackwardFilter: ShiftedImageBackwardFilter

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
        convolution = kernel.isAVX512
            ? Im2colConvolution(threads: threadCount, workspaceBytesPerWorker: workspaceBytesPerWorker,
                                workspaceLimitBytes: workspaceLimitBytes, gemm: gemm, packColumns: ConvolutionPacking.vectorIm2col,
                                accumulateColumns: ConvolutionPacking.vectorCol2im)
            : Im2colConvolution(threads: threadCount, workspaceBytesPerWorker: workspaceBytesPerWorker,
                                workspaceLimitBytes: workspaceLimitBytes, gemm: gemm)
        winograd = WinogradConvolution(threads: threadCount, workspaceBytesPerWorker: workspaceBytesPerWorker,
                                       workspaceLimitBytes: workspaceLimitBytes,
                                       policy: policy, tileSize: winogradTileSize, filterCache: .shared,
                                       tileKernels: kernel.isAVX512 ? [.f4x4: .avx512, .f2x2: .avx512F2x2] : [:],
                                       panelGEMM: WinogradPanelGEMM(kernel: kernel), gemm: gemm)
        winogradSmallTiles = WinogradConvolution(threads: threadCount, workspaceBytesPerWorker: workspaceBytesPerWorker,
                                                 workspaceLimitBytes: workspaceLimitBytes, policy: policy, tileSize: .f2x2,
                                                 filterCache: .shared, tileKernels: winograd.tileKernels,
                                                 panelGEMM: winograd.panelGEMM, gemm: gemm)
        directConvolution = DirectGEMMConvolution(threads: threadCount, kernel: kernel, workspaceLimitBytes: workspaceLimitBytes)
        directBackwardFilter = DirectGEMMBackwardFilter(threads: threadCount, kernel: kernel, workspaceLimitBytes: workspaceLimitBytes)
        shiftedImage = ShiftedImageConvolution(threads: threadCount, kernel: kernel, workspaceLimitBytes: workspaceLimitBytes)
        shiftedBackwardFilter = ShiftedImageBackwardFilter(threads: threadCount, kernel: kernel, workspaceLimitBytes: workspaceLimitBytes)
    }

    public var name: String { "dispatch" }
    public var serialGEMM: SerialGEMM { convolution.gemm }

    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, geometry: Conv2DGeometry) -> Tensor {
        conv2dForward(input: input, weight: weight, bias: bias, epilogue: .none, geometry: geometry)
    }

    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue, geometry: Conv2DGeometry) -> Tensor {
        if let (winograd, plan) = winogradForward(geometry) {
            return winograd.forward(input: input, weight: weight, bias: bias, epilogue: epilogue, geometry: geometry, plan: plan)
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
            if let (_, plan) = winogradForward(g) { return plan.workspaceBytes }
            return shiftedImage.pays(g) ? shiftedImage.workspaceBytes(g) : directConvolution.workspaceBytes(g)
        case "backward-filter" where shiftedBackwardFilter.pays(g):
            return shiftedBackwardFilter.workspaceBytes(g)
        case "backward-filter" where directBackwardFilter.handles(g):
            return directBackwardFilter.workspaceBytes(g)
        case "backward-data":
            return winogradBackwardData(g)?.plan.workspaceBytes ?? convolution.workspaceBytes(for: g, pass: pass)
        default:
            return convolution.workspaceBytes(for: g, pass: pass)
        }
    }

    /// The Winograd convolution (F(4×4) `winograd` or F(2×2) `winogradSmallTiles`) and plan that
    /// forward takes for `g`, or nil for the direct paths: under `.automatic` the cheapest by
    /// `ConvolutionCostModel` when it beats the direct GEMM's estimate by the model's margin
    /// (with `FOVEA_WINOGRAD=f2x2` only F(2×2) is considered); under `.always` the configured
    /// tile size wherever eligible (tests use it to reach the Winograd path on small shapes).
    func winogradForward(_ g: Conv2DGeometry) -> (convolution: WinogradConvolution, plan: WinogradPlan)? {
        winogradChoice(g, margin: ConvolutionCostModel.margin)
    }

    /// The same for backward-data, run as the forward convolution of
    /// `WinogradConvolution.backwardDataGeometry(g)`; the alternative, im2col + GEMM + col2im, is
    /// slower than the direct forward GEMM the model prices, so Winograd needs no margin here.
    func winogradBackwardData(_ g: Conv2DGeometry) -> (convolution: WinogradConvolution, plan: WinogradPlan)? {
        WinogradConvolution.backwardDataGeometry(g).flatMap { winogradChoice($0, margin: 1) }
    }

    private func winogradChoice(_ g: Conv2DGeometry, margin: Double) -> (convolution: WinogradConvolution, plan: WinogradPlan)? {
        switch winograd.policy {
        case .never: nil
        case .always: winograd.eligiblePlan(for: g).map { (winograd, $0) }
        case .automatic: cheapestWinograd(g, margin: margin)
        }
    }

    /// Prices each candidate's plan made at `ConvolutionCostModel.pricingThreads`, not at
    /// `threadCount`: the panel plan's blocks follow the thread count, and the three algorithms
    /// round differently, so a choice that read them made the results depend on `FOVEA_THREADS`
    /// (ResNet-18 at batch 3 took F(2×2) for its 512→512 7×7 layers at 1–2 threads and the direct
    /// GEMM at 3 or more). The chosen convolution then runs with the plan for `threadCount`.
    private func cheapestWinograd(_ g: Conv2DGeometry, margin: Double) -> (convolution: WinogradConvolution, plan: WinogradPlan)? {
        var best: (convolution: WinogradConvolution, cost: Double)?
        for candidate in winograd.tileSize == .f2x2 ? [winograd] : [winograd, winogradSmallTiles] {
            guard let priced = candidate.eligiblePlan(for: g, threads: ConvolutionCostModel.pricingThreads) else { continue }
            let cost = ConvolutionCostModel.winograd(g, priced, tileSize: candidate.tileSize)
            if cost < best?.cost ?? .infinity { best = (candidate, cost) }
        }
        guard let best, best.cost * margin <= ConvolutionCostModel.direct(g, directConvolution),
              let plan = best.convolution.eligiblePlan(for: g) else { return nil }
        return (best.convolution, plan)
    }

    public func conv2dBackwardData(gradOutput: Tensor, weight: Tensor, geometry: Conv2DGeometry) -> Tensor {
        if let (winograd, plan) = winogradBackwardData(geometry) {
            return winograd.backwardData(gradOutput: gradOutput, weight: weight, geometry: geometry, plan: plan)
        }
        return convolution.backwardData(gradOutput: gradOutput, weight: weight, geometry: geometry)
    }

    public func conv2dBackwardFilter(gradOutput: Tensor, input: Tensor, geometry: Conv2DGeometry) -> Conv2DFilterGradients {
        if shiftedBackwardFilter.pays(geometry) {
            return Conv2DFilterGradients(
                weight: shiftedBackwardFilter.backwardFilter(gradOutput: gradOutput, input: input, geometry: geometry),
                bias: Im2colConvolution.biasGradient(gradOutput, geometry: geometry, threads: threadCount))
        }
        guard directBackwardFilter.handles(geometry) else {
            return convolution.backwardFilter(gradOutput: gradOutput, input: input, geometry: geometry)
        }
        return Conv2DFilterGradients(
            weight: directBackwardFilter.backwardFilter(gradOutput: gradOutput, input: input, geometry: geometry),
            bias: Im2colConvolution.biasGradient(gradOutput, geometry: geometry, threads: threadCount))
    }
}
