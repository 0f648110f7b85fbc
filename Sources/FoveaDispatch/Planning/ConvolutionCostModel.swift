import FoveaCore

/// How the Dispatch backend chooses between the direct GEMM and Winograd F(2×2) or F(4×4) for a
/// 3×3 stride-1 layer: the estimated micro-kernel time of each, in flops of *padded* register
/// tiles (what the 12×32 kernel really computes: 13×13 = 169 positions fill 192 columns, 49
/// Winograd tiles 64) plus, for Winograd, its tile transforms.
///
///     direct    = 2 · ⌈K⌉ · ⌈columns⌉ · C·R·S                  (per GEMM; ⌈·⌉: rounded up to MR or NR)
///     winograd  = 2 · α² · ⌈K⌉ · ⌈tiles of each block⌉ · C
///               + transformCost · α² · (C + K) · transformed tiles
///
/// where the transformed tiles are `runs · 16`, `runs` being the tile rows of the batch, where
/// the device has the AVX-512 tile-row transforms (`WinogradTileKernels`: 16 tiles of one tile row
/// per vector, so a 4-tile row costs as much as a 16-tile one), and the batch's tiles themselves
/// where it has not (the AVX2 and portable transforms take any 8 tiles per vector: on AVX2 this takes
/// F(4×4) for DenseNet's growth layers at 14×14 and 28×28, measured 1.35–1.6× faster there than
/// F(2×2), which the padded runs chose) — but only for layers whose F(4×4) filters (36 floats per
/// weight, kept across calls) take at most `gatheredPricingFilterLimitBytes`: on larger ones
/// (ResNet-50's 256- and 512-channel 3×3 layers) F(4×4) raised ResNet-50's peak memory at batch 8
/// from 349 to 442 MiB, over ONNX Runtime's 372, for no gain measured in the network on the
/// 512-channel ones (Docs/Performance.md, "An AVX2-only machine"). `transformCost`, in flops per
/// transformed value, was fitted to perf profiles and timings of the ImageNet suite (one thread):
/// 37 for F(2×2), 74 for F(4×4) (6×6 patches, more operations per value). Winograd is taken when
/// its estimate is at least `margin` below the direct one (the model flatters it by 10–20% on
/// small layers). On the suite this reproduces every measured choice (Docs/Performance.md,
/// "Session 5"): F(2×2) for 13×13 and 14×14 outputs, F(4×4) for 28×28 and larger, direct for
/// 7×7 and 11×11 at batch 1.
enum ConvolutionCostModel {
    static let transformCost: [WinogradTileSize: Double] = [.f2x2: 37, .f4x4: 74]
    static let margin = 1.15
    /// The largest F(4×4) filters (`keptFilterBytes`) whose layer is priced by gathered tiles
    /// on a device without tile-row transforms.
    static let gatheredPricingFilterLimitBytes = 8 << 20

    /// Bytes of `g`'s filters transformed for `tileSize` (α² floats per weight of one group).
    static func keptFilterBytes(_ g: Conv2DGeometry, tileSize: WinogradTileSize) -> Int {
        tileSize.inputTile * tileSize.inputTile * g.inputChannelsPerGroup * g.outputChannels * MemoryLayout<Float>.stride
    }
    /// The thread count every Winograd plan is priced at, whatever the device's. The panel plan's
    /// tile blocks and output-channel split (hence how often it transforms the input) follow the
    /// thread count, but the choice they feed must not: F(4×4), F(2×2) and the direct GEMM round
    /// differently, so a thread-dependent choice makes the results depend on `FOVEA_THREADS`. Two
    /// is the count the choices were measured at (this project's machine; `DirectConvolutionTests`).
    static let pricingThreads = 2

    /// The direct GEMM's padded flops for `g` (images as columns where `direct` batches them;
    /// neither that nor the columns per GEMM depends on the thread count).
    static func direct(_ g: Conv2DGeometry, _ direct: DirectGEMMConvolution) -> Double {
        let kernel = direct.kernel
        let blocking = direct.blocking(for: g)
        let gemms = blocking.imagesAsColumns ? 1 : g.batch
        return 2 * Double(gemms * g.groups) * padded(g.outputChannelsPerGroup, kernel.mr)
            * padded(blocking.columnsPerGEMM, kernel.nr) * Double(g.columnRows)
    }

    /// Winograd's padded GEMM flops plus its transforms, for `plan` (with the panel GEMM's panels).
    static func winograd(_ g: Conv2DGeometry, _ plan: WinogradPlan, tileSize: WinogradTileSize, byTileRows: Bool = true) -> Double {
        let panels = plan.filterPanels ?? WinogradPanels(rows: 1, columns: 8, depth: g.inputChannels)
        let lastBlock = plan.tiles - (plan.blocks - 1) * plan.blockWidth
        let columns = Double(plan.blocks - 1) * padded(plan.blockWidth, panels.columns) + padded(lastBlock, panels.columns)
        let alphaSquared = Double(plan.inputTile * plan.inputTile)
        let gemm = 2 * alphaSquared * Double(plan.chunks) * padded(plan.chunkHeight, panels.rows) * columns * Double(g.inputChannels)
        let transformedTiles = byTileRows ? Double(g.batch * plan.tilesHigh) * padded(plan.tilesWide, 16) : Double(plan.tiles)
        let transforms = transformCost[tileSize, default: 74] * alphaSquared
            * Double(g.inputChannels * plan.chunks * plan.kBlocks + g.outputChannels) * transformedTiles
        return gemm + transforms
    }

    private static func padded(_ x: Int, _ to: Int) -> Double { Double((x + to - 1) / to * to) }
}
