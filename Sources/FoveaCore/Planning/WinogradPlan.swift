/// How one Winograd convolution call is split and how much memory it takes.
///
/// Output tiles (m×m, numbered image by image, row by row) are taken `blockWidth` at a time; the
/// output channels `chunkHeight` at a time (the transformed filters of one chunk are the shared
/// part of the workspace); inside a chunk a work item is (tile block, block of `kBlockHeight`
/// output channels). For each ξ in 0..<α², an item computes
///
///     M_ξ [kBlock × tiles] = U_ξ [kBlock × C] · V_ξ [C × tiles]
///
/// with U the transformed filters and V the transformed input tiles of its block.
///
/// **Workspace** (Floats): `α²·chunkHeight·C` for U, plus per worker `α²·C·paddedWidth` for V and
/// `α²·kBlockHeight·paddedWidth` for M (and a few tiles of scratch). The plan is chosen so that
/// U + V + M of one worker fit `workspaceBytesPerWorker`, and no more workers run than keep the
/// call within `workspaceLimitBytes` (the device's total convolution workspace, default 64 MiB). The chunk is all K channels if a block of 32 tiles (or all
/// tiles, if fewer) fits beside it, else halved down to 16 channels, where 8 tiles are enough; when
/// even that does not fit there is no plan and the caller uses im2col.
///
/// With a panel GEMM (`panels`), U (`α²·filterRows·C`, rows rounded up to whole row panels) is
/// not part of a worker's block: it is chunked only when it passes half of `workspaceLimitBytes`
/// (down to 16 channels), V + M of one block of one or two column panels must fit the worker's
/// budget (a budget below one column panel is raised to it), and at least one worker runs — so a
/// limit below U of 16 channels plus one worker's block (only tiny test limits) is exceeded.
///
/// **Reproducibility.** With the device's serial GEMM, `blockWidth` and `chunkHeight` depend on
/// the shapes and the budget only; `kBlocks` depends on them and `WorkGrain.items` too, never on
/// the thread count (a GEMM of another height can round differently in OpenBLAS; see
/// `WorkGrain`). With a panel GEMM (`WinogradPanelGEMM`) the blocks do depend on the thread
/// count, but every product element is reduced over the channels by the same micro-kernel calls
/// whatever its block, so the results do not.
package struct WinogradPlan: Sendable, Equatable {
    package var outputTile: Int
    package var inputTile: Int
    package var tilesHigh: Int
    package var tilesWide: Int
    /// All tiles of all images.
    package var tiles: Int
    package var blockWidth: Int
    /// `blockWidth` rounded up to a multiple of 8 (the SIMD lanes of the transforms), or of the
    /// panel GEMM's column panel: V's columns per ξ and M's row stride.
    package var paddedWidth: Int
    /// V's columns per panel: the panel GEMM's B-panel width (`WinogradPanelGEMM`), else all
    /// `paddedWidth` (plain rows).
    package var panelWidth: Int
    package var blocks: Int
    package var chunkHeight: Int
    package var chunks: Int
    package var kBlockHeight: Int
    package var kBlocks: Int
    package var workers: Int
    package var inputChannels: Int

    /// F(2×2) or F(4×4), from `outputTile`.
    package var tileSize: WinogradTileSize { outputTile == 2 ? .f2x2 : .f4x4 }

    /// Rows of each ξ's transformed filters in a chunk: `chunkHeight`, rounded up to whole row panels.
    package var filterRows: Int
    /// The panel GEMM's panels, when U and V are laid out for it.
    package var filterPanels: WinogradPanels?

    /// Floats of the transformed filters of one chunk (shared).
    package var filterFloats: Int { inputTile * inputTile * filterRows * inputChannels }

    /// Where `U_ξ[row, c]` of a chunk sits in its transformed filters: `[α², chunkHeight, C]` rows,
    /// or for the panel GEMM `α²` A operands of `filterRows × C` in its layout: per depth block
    /// (from d, length L = min(kc, C − d)) at `d·filterRows`, panels of `mr` rows × L steps.
    @inline(__always)
    package func filterOffset(xi: Int, row: Int, channel c: Int) -> Int {
        guard let panels = filterPanels else { return (xi * chunkHeight + row) * inputChannels + c }
        let depth = c / panels.depth * panels.depth
        let length = min(panels.depth, inputChannels - depth)
        let (panel, inPanel) = row.quotientAndRemainder(dividingBy: panels.rows)
        return xi * filterRows * inputChannels + depth * filterRows + panel * panels.rows * length + (c - depth) * panels.rows + inPanel
    }
    /// Floats from one ξ of a worker's V to the next: `C·paddedWidth`, rounded up to an odd number
    /// of 64-byte lines (`Self.spread`).
    package var inputStride: Int { Self.spread(inputChannels * paddedWidth) }
    /// Floats from one ξ of a worker's M to the next: `kBlockHeight·paddedWidth`, rounded up to
    /// an odd number of 64-byte lines (`Self.spread`).
    package var productStride: Int { Self.spread(kBlockHeight * paddedWidth) }

    /// Floats of one worker's V, M and tile scratch.
    package var workerFloats: Int {
        Self.workerFloats(alphaSquared: inputTile * inputTile, channels: inputChannels, kBlock: kBlockHeight, width: paddedWidth)
    }
    /// Bytes one call allocates.
    package var workspaceBytes: Int { (filterFloats + workers * workerFloats) * MemoryLayout<Float>.stride }

    static func workerFloats(alphaSquared: Int, channels: Int, kBlock: Int, width: Int) -> Int {
        alphaSquared * (spread(channels * width) + spread(kBlock * width)) + 2 * alphaSquared * 8
    }

    /// `floats` rounded up to an odd number of 64-byte cache lines. V and M hold α² equal parts, one
    /// per ξ, that the transforms write and read ξ after ξ; parts a power-of-two multiple of 4 KiB
    /// apart (C·paddedWidth is 8 KiB for 128 channels of one 16-tile panel) would all fall in one
    /// L1 set, evicting each other on every ξ. An odd number of lines apart, 64 consecutive parts
    /// fall in 64 different sets.
    static func spread(_ floats: Int) -> Int {
        let lines = (floats + 15) / 16
        return (lines | 1) * 16
    }

    /// The tile block width aimed for: wide enough for the GEMM's 16-column panels and to amortise
    /// packing U, small enough that V of one block stays near the L2 cache for small C.
    static let targetBlockWidth = 96

    /// True for the convolutions Winograd F(m×m, 3×3) computes: 3×3 kernel, stride 1, dilation 1,
    /// one group. Any padding.
    package static func isEligible(_ g: Conv2DGeometry) -> Bool {
        g.kernelHeight == 3 && g.kernelWidth == 3 && g.options.stride == 1 && g.options.dilation == 1 && g.groups == 1
    }

    /// The plan for `g`, or nil when `g` is not a 3×3 stride-1 convolution or does not fit the budget.
    /// - Parameter panels: the panel GEMM's row and column panels (`WinogradPanelGEMM`): output
    ///   channel blocks then start on whole row panels, U is kept in its A-panel layout and V in
    ///   column panels.
    package init?(_ g: Conv2DGeometry, tileSize: WinogradTileSize, threads: Int, workspaceBytesPerWorker: Int,
                 workspaceLimitBytes: Int = .max, panels: WinogradPanels? = nil) {
        guard Self.isEligible(g) else { return nil }
        let m = tileSize.outputTile, alpha = tileSize.inputTile
        let alphaSquared = alpha * alpha
        let (c, k) = (g.inputChannels, g.outputChannels)
        outputTile = m
        inputTile = alpha
        inputChannels = c
        tilesHigh = (g.outputHeight + m - 1) / m
        tilesWide = (g.outputWidth + m - 1) / m
        tiles = g.batch * tilesHigh * tilesWide
        let budget = workspaceBytesPerWorker / MemoryLayout<Float>.stride
        let step = panels?.columns ?? 8  // block widths are multiples of this
        let threads = max(threads, 1)
        // With the panel GEMM, blocks of one column panel (two when there are four such blocks per
        // worker): U is not packed per block, so narrow blocks cost nothing and keep V in L2.
        let allTiles = tiles
        let target = panels.map { allTiles >= 8 * $0.columns * threads ? 2 * $0.columns : $0.columns } ?? Self.targetBlockWidth
        let wanted = min(Self.roundUp(allTiles, step), target)
        let rowPanel = panels?.rows ?? 1
        // Largest chunk of output channels (all, else halves, in multiples of 16) for which a
        // block of at least `min(wanted, 32)` tiles fits beside it (its V and M, and without the
        // panel GEMM its U too).
        var chunk = k
        var width = 0
        // With the panel GEMM, U is read panel by panel as from any weight matrix rather than
        // packed per block, so it need not sit beside the block in cache: it counts against the
        // call's limit (half of it at most), not the worker's budget.
        let filterLimit = panels == nil ? Int.max : workspaceLimitBytes / MemoryLayout<Float>.stride / 2
        while true {
            let filterFloats = alphaSquared * Self.roundUp(chunk, rowPanel) * c
            let free = budget - (panels == nil ? filterFloats : 0) - 2 * alphaSquared * 8
            if filterFloats > filterLimit && chunk > 16 { chunk = max(16, Self.roundUp(chunk / 2, 16)); continue }
            let fitting = free > 0 ? (free / (alphaSquared * (c + Self.roundUp(chunk, rowPanel)))) / step * step : 0
            if fitting >= min(wanted, 32) { width = min(fitting, wanted); break }
            if chunk <= 16 {  // the smallest chunk: accept narrower blocks (only tiny budgets get here)
                // The panel GEMM needs one whole column panel per block: a budget below that is raised to it.
                guard fitting >= step || panels != nil else { return nil }
                width = min(max(fitting, step), wanted)
                break
            }
            chunk = max(16, Self.roundUp(chunk / 2, 16))
        }
        chunkHeight = min(chunk, k)
        chunks = (k + chunkHeight - 1) / chunkHeight
        filterRows = Self.roundUp(chunkHeight, rowPanel)
        filterPanels = panels
        blockWidth = min(width, tiles)
        paddedWidth = Self.roundUp(blockWidth, step)
        panelWidth = panels?.columns ?? paddedWidth
        blocks = (tiles + blockWidth - 1) / blockWidth
        // Split the chunk's output channels when there are too few tile blocks for the workers:
        // into `WorkGrain.items` items, or with the panel GEMM (whose results do not depend on the
        // split) only when there are fewer blocks than workers, into two items per worker — each
        // worker that takes a block transforms its input, so every split costs a transform.
        if panels != nil {
            kBlocks = threads == 1 || blocks >= threads ? 1 : min((2 * threads + blocks - 1) / blocks, max(chunkHeight / 32, 1))
        } else {
            kBlocks = blocks >= WorkGrain.items ? 1 : min((WorkGrain.items + blocks - 1) / blocks, max(chunkHeight / 32, 1))
        }
        kBlockHeight = Self.roundUp((chunkHeight + kBlocks - 1) / kBlocks, rowPanel)
        kBlocks = (chunkHeight + kBlockHeight - 1) / kBlockHeight  // whole row panels can leave fewer
        workers = min(threads, blocks * kBlocks)
        // Fewer workers when the call's total (shared filters + one share per worker) would pass the limit.
        let limitFloats = workspaceLimitBytes / MemoryLayout<Float>.stride
        let affordable = max((limitFloats - filterFloats) / max(workerFloats, 1), 1)
        workers = min(workers, affordable)
    }

    /// The tile block and the output-channel block of work item `item` (of `blocks · kBlocks`):
    /// block-major, or with the panel GEMM channel-block-major, so that two workers start on
    /// different tile blocks and each then keeps its block's transformed input for its next item.
    package func workItem(_ item: Int) -> (block: Int, kBlock: Int) {
        filterPanels == nil ? (item / kBlocks, item % kBlocks) : (item % blocks, item / blocks)
    }

    static func roundUp(_ value: Int, _ multiple: Int) -> Int { (value + multiple - 1) / multiple * multiple }
}
