/// When Winograd convolution is used.
public enum WinogradPolicy: String, Sendable, CaseIterable {
    /// Eligible layers (3×3, stride 1, dilation 1, groups 1, fits the workspace) that are also
    /// large enough to gain: `WinogradPlan.pays` (rule measured in Docs/Performance.md).
    case automatic
    /// Every eligible layer, however small (for tests: small shapes reach the Winograd path).
    case always
    /// Never; im2col + GEMM for everything.
    case never
}

/// The output-tile size of the Winograd algorithm.
public enum WinogradTileSize: String, Hashable, Sendable, CaseIterable {
    /// F(2×2, 3×3): 16 GEMMs, 2.25× fewer multiplications, error as small as direct convolution.
    case f2x2
    /// F(4×4, 3×3): 36 GEMMs, 4× fewer multiplications, a few times the error of direct convolution.
    case f4x4

    var transform: any WinogradTransform.Type {
        switch self {
        case .f2x2: WinogradF2x2.self
        case .f4x4: WinogradF4x4.self
        }
    }
}

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
/// **Reproducibility.** `blockWidth` and `chunkHeight` depend on the shapes and the budget only;
/// `kBlocks` depends on them and `WorkGrain.items` too, never on the thread count (a GEMM of
/// another height can round differently in OpenBLAS; see `WorkGrain`).
public struct WinogradPlan: Sendable, Equatable {
    public var outputTile: Int
    public var inputTile: Int
    public var tilesHigh: Int
    public var tilesWide: Int
    /// All tiles of all images.
    public var tiles: Int
    public var blockWidth: Int
    /// `blockWidth` rounded up to a multiple of 8 (the SIMD lanes of the transforms): V and M's row stride.
    public var paddedWidth: Int
    public var blocks: Int
    public var chunkHeight: Int
    public var chunks: Int
    public var kBlockHeight: Int
    public var kBlocks: Int
    public var workers: Int
    public var inputChannels: Int

    /// Floats of the transformed filters of one chunk (shared).
    public var filterFloats: Int { inputTile * inputTile * chunkHeight * inputChannels }
    /// Floats of one worker's V, M and tile scratch.
    public var workerFloats: Int {
        Self.workerFloats(alphaSquared: inputTile * inputTile, channels: inputChannels, kBlock: kBlockHeight, width: paddedWidth)
    }
    /// Bytes one call allocates.
    public var workspaceBytes: Int { (filterFloats + workers * workerFloats) * MemoryLayout<Float>.stride }

    static func workerFloats(alphaSquared: Int, channels: Int, kBlock: Int, width: Int) -> Int {
        alphaSquared * (channels + kBlock) * width + 2 * alphaSquared * 8
    }

    /// The tile block width aimed for: wide enough for the GEMM's 16-column panels and to amortise
    /// packing U, small enough that V of one block stays near the L2 cache for small C.
    static let targetBlockWidth = 96

    /// True for the convolutions Winograd F(m×m, 3×3) computes: 3×3 kernel, stride 1, dilation 1,
    /// one group. Any padding.
    public static func isEligible(_ g: Conv2DGeometry) -> Bool {
        g.kernelHeight == 3 && g.kernelWidth == 3 && g.options.stride == 1 && g.options.dilation == 1 && g.groups == 1
    }

    /// The automatic rule (Docs/Performance.md, "Winograd for 3×3 convolutions"): both channel
    /// counts at least 16 (below that the transforms, not the GEMMs, dominate), at least 64
    /// output tiles in the batch, or 32 with at most 256 input channels (with 16, e.g. AlexNet's
    /// 13×13 layers at batch 1, the narrow GEMMs made it about 2× slower than im2col; with the
    /// AVX-512 tile transforms, 28×28 outputs at batch 1 — 49 tiles — ran 1.2–1.4× faster on 128
    /// and 256 input channels, and 0.6× as fast on 512, where packing each α² GEMM's A, K × C, for
    /// only 49 columns dominates), and tiles
    /// that are mostly used: `coverage = P·Q / (tilesHigh·m · tilesWide·m)` at least 0.9, or at
    /// least 0.75 with at most 256 input channels. Measured with the AVX-512 GEMM at batch 8, one
    /// thread: 13×13 outputs (coverage 0.66, AlexNet conv3, L5) and 512 channels at 14×14
    /// (coverage 0.77) ran 1.3–1.5× slower than the direct GEMM; 256 channels at 14×14 ran 1.15×
    /// faster, 28×28 and larger 1.2–1.7× faster.
    public func pays(_ g: Conv2DGeometry) -> Bool {
        guard g.inputChannels >= 16, g.outputChannels >= 16, tiles >= 64 || (tiles >= 32 && g.inputChannels <= 256) else { return false }
        let coverage = self.coverage(g)
        return coverage >= 0.9 || (coverage >= 0.75 && g.inputChannels <= 256)
    }

    /// The share of the tiles' outputs that are real outputs: `P·Q / (tilesHigh·m · tilesWide·m)`.
    public func coverage(_ g: Conv2DGeometry) -> Double {
        Double(g.outputHeight * g.outputWidth) / Double(tilesHigh * outputTile * tilesWide * outputTile)
    }

    /// The plan for `g`, or nil when `g` is not a 3×3 stride-1 convolution or does not fit the budget.
    public init?(_ g: Conv2DGeometry, tileSize: WinogradTileSize, threads: Int, workspaceBytesPerWorker: Int,
                 workspaceLimitBytes: Int = .max) {
        guard Self.isEligible(g) else { return nil }
        let m = tileSize.transform.outputTile, alpha = tileSize.transform.inputTile
        let alphaSquared = alpha * alpha
        let (c, k) = (g.inputChannels, g.outputChannels)
        outputTile = m
        inputTile = alpha
        inputChannels = c
        tilesHigh = (g.outputHeight + m - 1) / m
        tilesWide = (g.outputWidth + m - 1) / m
        tiles = g.batch * tilesHigh * tilesWide
        let budget = workspaceBytesPerWorker / MemoryLayout<Float>.stride
        let wanted = min(Self.roundUp(tiles, 8), Self.targetBlockWidth)
        // Largest chunk of output channels (all, else halves, in multiples of 16) for which a
        // block of at least `min(wanted, 32)` tiles fits beside it.
        var chunk = k
        var width = 0
        while true {
            let free = budget - alphaSquared * chunk * c - 2 * alphaSquared * 8
            let fitting = free > 0 ? (free / (alphaSquared * (c + chunk))) / 8 * 8 : 0
            if fitting >= min(wanted, 32) { width = min(fitting, wanted); break }
            if chunk <= 16 {  // the smallest chunk: accept narrower blocks (only tiny budgets get here)
                guard fitting >= 8 else { return nil }
                width = min(fitting, wanted)
                break
            }
            chunk = max(16, Self.roundUp(chunk / 2, 16))
        }
        chunkHeight = min(chunk, k)
        chunks = (k + chunkHeight - 1) / chunkHeight
        blockWidth = min(width, tiles)
        paddedWidth = Self.roundUp(blockWidth, 8)
        blocks = (tiles + blockWidth - 1) / blockWidth
        // Split the chunk's output channels when there are too few tile blocks for the workers.
        let threads = max(threads, 1)
        kBlocks = blocks >= WorkGrain.items ? 1 : min((WorkGrain.items + blocks - 1) / blocks, max(chunkHeight / 32, 1))
        kBlockHeight = (chunkHeight + kBlocks - 1) / kBlocks
        workers = min(threads, blocks * kBlocks)
        // Fewer workers when the call's total (shared filters + one share per worker) would pass the limit.
        let limitFloats = workspaceLimitBytes / MemoryLayout<Float>.stride
        let affordable = max((limitFloats - filterFloats) / max(workerFloats, 1), 1)
        workers = min(workers, affordable)
    }

    static func roundUp(_ value: Int, _ multiple: Int) -> Int { (value + multiple - 1) / multiple * multiple }
}
