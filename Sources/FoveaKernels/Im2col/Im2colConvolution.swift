import FoveaCore

/// A single-threaded row-major sgemm, `C ← alpha·op(A)·op(B) + beta·C` (arguments as in
/// `Device.gemm`). The im2col driver calls it from inside its GCD workers, so it must not start
/// threads of its own.
public typealias SerialGEMM = @Sendable (
    _ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int,
    _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
    _ b: UnsafePointer<Float>, _ ldb: Int,
    _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
) -> Void

/// Writes the im2col block of input channels `channels` and output positions `columns` of one image
/// (arguments as in `Im2col.pack`, which is the default; a backend may bring a faster one that
/// writes the same values).
package typealias ColumnPacker = @Sendable (
    _ image: UnsafePointer<Float>, _ geometry: Conv2DGeometry,
    _ channels: Range<Int>, _ columns: Range<Int>, _ out: UnsafeMutablePointer<Float>
) -> Void

/// Adds a column block back onto one image (arguments as in `Im2col.accumulate`, the default; a
/// backend may bring a faster one that adds in the same order, so its sums are the same).
package typealias ColumnAccumulator = @Sendable (
    _ columns: UnsafePointer<Float>, _ geometry: Conv2DGeometry,
    _ channels: Range<Int>, _ columnRange: Range<Int>, _ image: UnsafeMutablePointer<Float>
) -> Void

/// Convolution forward and backward as GEMMs over tiles of the im2col matrix, parallel over GCD.
/// Shared by every GEMM-based backend; each brings its own serial GEMM.
///
/// **Workspace bound.** Each running worker owns one scratch buffer for its tile of the column
/// matrix. A tile holds at most `tileBytes = min(workspaceBytesPerWorker, workspaceLimitBytes)`
/// (default 8 MiB), and at most `workspaceLimitBytes / scratch` workers run at once, so one call
/// allocates at most `workspaceLimitBytes` (default 64 MiB, `defaultWorkspaceLimitBytes`) however
/// large the batch, the image or the thread count. When one output position's column
/// (`(C/groups)·R·S` Floats) does not fit a tile, the forward pass packs the group's input
/// channels in chunks and accumulates their GEMMs, and the backward passes take fewer channels
/// per block; the bound then holds as long as one kernel window of one channel (`R·S` Floats)
/// fits, which every limit of at least a few KiB guarantees. 1×1 convolutions with stride 1 and
/// no padding read the input directly and need no workspace. Tile sizes depend on the shapes and
/// the two sizes only, never on the thread count.
///
/// **Work split.**
/// - forward: items are (image, group, tile of output positions, block of output channels); each
///   packs its tile and multiplies. Items write disjoint outputs.
/// - backward-data: items are (image, group, block of input channels); each computes the column
///   gradient `Wᵀ·∂y` for its channels tile by tile and scatters it (col2im) into its channels only.
///   With a backend's `PrepackedGEMM`, each block's Wᵀ is packed once per call (counted in the
///   workspace, and only when it fits) and every image multiplies it.
/// - backward-filter: items are (group, block of input channels); each sums over images and tiles
///   in a fixed order.
///
/// Every cut (tile widths, channel blocks, hence every GEMM call's m, n, k) depends on the shapes,
/// the workspace budget and `WorkGrain.items` only, never on the thread count; the threads only
/// pick up items. So results are bit-identical at any thread count, whatever the serial GEMM.
public struct Im2colConvolution: Sendable {
    package let gemm: SerialGEMM
    /// When the backend has one, backward-data packs each channel block's Wᵀ once per call with
    /// it and every image multiplies the packed block, instead of `gemm` packing it per image.
    package let prepackedGEMM: PrepackedGEMM?
    /// Writes the column tiles (default `Im2col.pack`).
    package let packColumns: ColumnPacker
    /// Adds column tiles back onto images in backward-data (default `Im2col.accumulate`).
    package let accumulateColumns: ColumnAccumulator
    package let threads: Int
    /// The largest column tile one worker packs, in bytes (capped by `workspaceLimitBytes`).
    package let workspaceBytesPerWorker: Int
    /// The most workspace one call allocates over all its workers, in bytes.
    package let workspaceLimitBytes: Int

    public static let defaultWorkspaceBytesPerWorker = 8 << 20
    /// The default total workspace of one convolution call: 64 MiB.
    public static let defaultWorkspaceLimitBytes = 64 << 20

    package init(threads: Int, workspaceBytesPerWorker: Int = Im2colConvolution.defaultWorkspaceBytesPerWorker,
                workspaceLimitBytes: Int = Im2colConvolution.defaultWorkspaceLimitBytes, gemm: @escaping SerialGEMM,
                prepackedGEMM: PrepackedGEMM? = nil,
                packColumns: @escaping ColumnPacker = { Im2col.pack(image: $0, geometry: $1, channels: $2, columns: $3, into: $4) },
                accumulateColumns: @escaping ColumnAccumulator = {
                    Im2col.accumulate(columns: $0, geometry: $1, channels: $2, columns: $3, into: $4)
                }) {
        precondition(workspaceBytesPerWorker > 0 && workspaceLimitBytes > 0,
                     "Im2colConvolution: workspace sizes must be positive, got \(workspaceBytesPerWorker) per worker, \(workspaceLimitBytes) in total")
        self.gemm = gemm
        self.prepackedGEMM = prepackedGEMM
        self.packColumns = packColumns
        self.accumulateColumns = accumulateColumns
        self.threads = max(threads, 1)
        self.workspaceBytesPerWorker = workspaceBytesPerWorker
        self.workspaceLimitBytes = workspaceLimitBytes
    }

    /// Floats in the largest tile one worker may pack: `min(perWorker, limit)`, at least one
    /// kernel window of one channel (`kernelArea`).
    func tileFloats(kernelArea: Int) -> Int {
        max(min(workspaceBytesPerWorker, workspaceLimitBytes) / MemoryLayout<Float>.stride, kernelArea, 1)
    }

    /// How many workers may run at once when each packs `scratchFloats`: within the thread count,
    /// the item count and `workspaceLimitBytes`.
    func workerCount(items: Int, scratchFloats: Int) -> Int {
        guard scratchFloats > 0 else { return 0 }
        let affordable = max(workspaceLimitBytes / (scratchFloats * MemoryLayout<Float>.stride), 1)
        return min(threads, items, affordable)
    }


    /// How many output positions fit one worker's buffer for `rows` column-matrix rows.
    func tileWidth(rows: Int, total: Int, kernelArea: Int) -> Int {
        let floats = tileFloats(kernelArea: kernelArea)
        var width = max(floats / max(rows, 1), 1)
        if width >= 64 { width -= width % 16 }
        return min(width, total)
    }

    /// How a forward call is split: tiles of `width` output positions per (image, group), and
    /// `channelBlocks` blocks of `blockHeight` output channels; the group's input channels are
    /// packed `chunkChannels` at a time (all of them unless one column does not fit a tile).
    struct ForwardPlan {
        var width: Int, tiles: Int, channelBlocks: Int, blockHeight: Int, items: Int, workers: Int, scratchFloats: Int
        var chunkChannels: Int
    }

    func forwardPlan(_ g: Conv2DGeometry) -> ForwardPlan {
        let positions = g.columnCount
        let area = g.kernelHeight * g.kernelWidth
        let pointwise = g.isPointwise
        let chunkChannels = pointwise ? g.inputChannelsPerGroup : min(g.inputChannelsPerGroup, max(tileFloats(kernelArea: area) / area, 1))
        // Enough tiles for about `WorkGrain.items` items (never the thread count: see WorkGrain),
        // no wider than the buffer.
        let images = g.batch * g.groups
        let wantedTiles = max(1, (WorkGrain.items + images - 1) / images)
        let width = min(tileWidth(rows: chunkChannels * area, total: positions, kernelArea: area),
                        max((positions + wantedTiles - 1) / wantedTiles, 64), positions)
        let tiles = (positions + width - 1) / width
        // Split output channels too when images × tiles are still few.
        let channelBlocks = min(max(1, (WorkGrain.items / 2) / (images * tiles)), max(g.outputChannelsPerGroup / 16, 1))
        let blockHeight = (g.outputChannelsPerGroup + channelBlocks - 1) / channelBlocks
        let items = images * tiles * channelBlocks
        let scratchFloats = pointwise ? 0 : chunkChannels * area * width
        return ForwardPlan(width: width, tiles: tiles, channelBlocks: channelBlocks, blockHeight: blockHeight, items: items,
                           workers: workerCount(items: items, scratchFloats: scratchFloats), scratchFloats: scratchFloats,
                           chunkChannels: chunkChannels)
    }

    /// How a backward call is split: blocks of `blockSize` input channels per unit (image and
    /// group for backward-data, group for backward-filter), tiles of `width` output positions.
    struct ChannelBlockPlan {
        var blockSize: Int, blocks: Int, width: Int, items: Int, workers: Int, scratchFloats: Int

        /// One scratch tile of `scratchFloats` per worker.
        func scratchBuffers() -> ScratchBuffers { ScratchBuffers(workers: workers, capacity: scratchFloats) }

        /// Block `block` of `group`'s input channels in `g`.
        func channelBlock(_ block: Int, group: Int, geometry g: Conv2DGeometry) -> ChannelBlock {
            let area = g.kernelHeight * g.kernelWidth
            let firstLocal = block * blockSize
            let first = group * g.inputChannelsPerGroup + firstLocal
            let count = min(blockSize, g.inputChannelsPerGroup - firstLocal)
            let firstOutput = group * g.outputChannelsPerGroup
            return ChannelBlock(channels: first..<(first + count), rows: count * area, firstOutput: firstOutput,
                                weightOffset: firstOutput * g.columnRows + firstLocal * area)
        }
    }

    /// One backward work item's input channels: `channels` (of all C), their `rows` =
    /// channels·R·S column rows, the group's first output channel k, and `weightOffset` =
    /// k·(C/g)·R·S + (first channel within the group)·R·S, where this block's columns of the
    /// group's [K/g, (C/g)·R·S] weight (and of ∂W) start.
    struct ChannelBlock {
        var channels: Range<Int>
        var rows: Int
        var firstOutput: Int
        var weightOffset: Int
    }

    /// The fewest column rows (input channels × R·S) a backward channel block has, when the group has that many.
    static let minimumBlockRows = 32

    func channelBlockPlan(_ g: Conv2DGeometry, units: Int, tileRowsPerChannel: Int?) -> ChannelBlockPlan {
        let area = g.kernelHeight * g.kernelWidth
        let pointwise = g.isPointwise
        let floats = tileFloats(kernelArea: area)
        let wantedBlocks = max(1, (WorkGrain.items + units - 1) / units)
        // At least `minimumBlockRows` column rows per block (a pointwise layer has one row per
        // channel), so that no block's GEMM is a sliver — unless the workspace bound needs fewer.
        let minimumChannels = (Self.minimumBlockRows + area - 1) / area
        var blockSize = min(max(minimumChannels, (g.inputChannelsPerGroup + wantedBlocks - 1) / wantedBlocks), g.inputChannelsPerGroup)
        let width: Int
        if let fullRows = tileRowsPerChannel {
            // The width follows the full rows (the reduction order); blocks shrink to fit it.
            width = tileWidth(rows: fullRows * area, total: g.columnCount, kernelArea: area)
            if !pointwise { blockSize = min(blockSize, max(floats / (area * width), 1)) }
        } else {
            if !pointwise { blockSize = min(blockSize, max(floats / area, 1)) }
            width = tileWidth(rows: blockSize * area, total: g.columnCount, kernelArea: area)
        }
        let blocks = (g.inputChannelsPerGroup + blockSize - 1) / blockSize
        let items = units * blocks
        let scratchFloats = pointwise ? 0 : blockSize * area * width
        return ChannelBlockPlan(blockSize: blockSize, blocks: blocks, width: width, items: items,
                                workers: workerCount(items: items, scratchFloats: scratchFloats), scratchFloats: scratchFloats)
    }

    /// Backward-data: units are (image, group); the tile width follows the block's rows.
    func backwardDataPlan(_ g: Conv2DGeometry) -> ChannelBlockPlan {
        channelBlockPlan(g, units: g.batch * g.groups, tileRowsPerChannel: nil)
    }

    /// Backward-filter: units are groups; the tile width (the reduction order) depends on the
    /// group's full column rows, never on the thread count.
    func backwardFilterPlan(_ g: Conv2DGeometry) -> ChannelBlockPlan {
        channelBlockPlan(g, units: g.groups, tileRowsPerChannel: g.inputChannelsPerGroup)
    }

    /// The workspace bytes one call of `pass` allocates for `g`: one column-tile buffer per
    /// worker that runs (0 for pointwise layers).
    package func workspaceBytes(for g: Conv2DGeometry, pass: ConvolutionPass) -> Int {
        switch pass {
        case .forward:
            let plan = forwardPlan(g)
            return plan.workers * plan.scratchFloats * MemoryLayout<Float>.stride
        case .backwardData:
            let plan = backwardDataPlan(g)
            let packed = prepackedWeights(g, plan: plan)?.floats ?? 0
            return (plan.workers * plan.scratchFloats + packed) * MemoryLayout<Float>.stride
        case .backwardFilter:
            let plan = backwardFilterPlan(g)
            return plan.workers * plan.scratchFloats * MemoryLayout<Float>.stride
        }
    }

    // MARK: Forward

    /// `y = epilogue(W·col + bias)` tile by tile: each item multiplies its tile, then adds the
    /// bias and applies the epilogue to the block it just wrote, while it is still in cache.
    package func forward(input: Tensor, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue = .none,
                        geometry g: Conv2DGeometry) -> Tensor {
        var output = Tensor(zeros: g.outputShape)
        let pointwise = g.isPointwise
        let rows = g.columnRows
        let area = g.kernelHeight * g.kernelWidth
        let positions = g.columnCount
        let outputsPerGroup = g.outputChannelsPerGroup
        let plan = forwardPlan(g)
        let (width, tiles, channelBlocks, blockHeight, chunkChannels) = (plan.width, plan.tiles, plan.channelBlocks, plan.blockHeight, plan.chunkChannels)
        let scratch = ScratchBuffers(workers: plan.workers, capacity: plan.scratchFloats)
        let (gemm, packColumns) = (self.gemm, self.packColumns)
        let biasValues = bias?.scalars
        let finishes = biasValues != nil || epilogue != .none
        Tensor.withSendablePointers(reading: input, weight, writing: &output) { x, wt, y in
            Parallel.forEach(plan.items, threads: pointwise ? threads : plan.workers) { worker, item in
                let block = item % channelBlocks
                let tile = (item / channelBlocks) % tiles
                let image = item / (channelBlocks * tiles)
                let (n, group) = (image / g.groups, image % g.groups)
                let start = tile * width
                let count = min(width, positions - start)
                let firstOutput = block * blockHeight
                let outputCount = min(blockHeight, outputsPerGroup - firstOutput)
                guard outputCount > 0 else { return }
                let channels = (group * g.inputChannelsPerGroup)..<((group + 1) * g.inputChannelsPerGroup)
                let imageStart = x.pointer + n * g.inputChannels * g.inputHeight * g.inputWidth
                let k = group * outputsPerGroup + firstOutput
                let out = y.pointer + (n * g.outputChannels + k) * positions + start
                if pointwise {
                    gemm(false, false, outputCount, count, rows,
                         1, wt.pointer + k * rows, rows, imageStart + channels.lowerBound * positions + start, positions,
                         0, out, positions)
                } else {
                    // The group's channels in chunks that fit the tile (one chunk unless a
                    // single column is larger than the tile); their products accumulate.
                    var first = channels.lowerBound
                    while first < channels.upperBound {
                        let last = min(first + chunkChannels, channels.upperBound)
                        packColumns(imageStart, g, first..<last, start..<(start + count), scratch[worker])
                        let offset = (first - channels.lowerBound) * area
                        gemm(false, false, outputCount, count, (last - first) * area,
                             1, wt.pointer + k * rows + offset, rows, scratch[worker], count,
                             first == channels.lowerBound ? 0 : 1, out, positions)
                        first = last
                    }
                }
                guard finishes else { return }
                for row in 0..<outputCount {
                    epilogue.apply(row: out + row * positions, count: count, bias: biasValues?[k + row] ?? 0)
                }
            }
        }
        return output
    }

    // MARK: Backward data

    package func backwardData(gradOutput: Tensor, weight: Tensor, geometry g: Conv2DGeometry) -> Tensor {
        var gradInput = Tensor(zeros: g.inputShape)
        let (pointwise, positions, planeSize, outputsPerGroup) = (g.isPointwise, g.columnCount, g.inputHeight * g.inputWidth, g.outputChannelsPerGroup)
        let (plan, gemm, accumulateColumns) = (backwardDataPlan(g), self.gemm, self.accumulateColumns)
        let (blocks, width, scratch) = (plan.blocks, plan.width, plan.scratchBuffers())
        // Wᵀ of every (group, channel block) packed once for all the images, when the GEMM can keep it.
        let packing = prepackedWeights(g, plan: plan)
        let packedWeights = packing.map { packTransposedWeights(weight, geometry: g, plan: plan, as: $0) }
        Tensor.withSendablePointers(reading: gradOutput, weight, writing: &gradInput) { dy, wt, dx in
            Tensor.withOptionalPointer(packedWeights) { packedBase in
                let packed = packedBase.map { SendablePointer($0) }
                Parallel.forEach(plan.items, threads: pointwise ? threads : plan.workers) { worker, item in
                    let image = item / blocks
                    let (n, group) = (image / g.groups, image % g.groups)
                    let block = plan.channelBlock(item % blocks, group: group, geometry: g)
                    // Wᵀ restricted to this block: its columns of the group's weight, transposed.
                    let weights = wt.pointer + block.weightOffset
                    let gradients = dy.pointer + (n * g.outputChannels + block.firstOutput) * positions
                    let imageStart = dx.pointer + n * g.inputChannels * planeSize
                    // col[block rows, columns] = Wᵀ[block rows, ·]·∂y[·, columns] into `out`.
                    func multiply(_ columns: Range<Int>, into out: UnsafeMutablePointer<Float>, _ ldc: Int) {
                        if let packing, let packed {
                            packing.gemm.multiply(packed.pointer + packing.offsets[group * blocks + item % blocks], block.rows, columns.count,
                                                  outputsPerGroup, gradients + columns.lowerBound, positions, out, ldc)
                        } else {
                            gemm(true, false, block.rows, columns.count, outputsPerGroup,
                                 1, weights, g.columnRows, gradients + columns.lowerBound, positions, 0, out, ldc)
                        }
                    }
                    if pointwise {
                        multiply(0..<positions, into: imageStart + block.channels.lowerBound * planeSize, positions)
                        return
                    }
                    var start = 0
                    while start < positions {
                        let count = min(width, positions - start)
                        multiply(start..<(start + count), into: scratch[worker], count)
                        accumulateColumns(scratch[worker], g, block.channels, start..<(start + count), imageStart)
                        start += count
                    }
                }
            }
        }
        return gradInput
    }

    // MARK: Backward filter

    package func backwardFilter(gradOutput: Tensor, input: Tensor, geometry g: Conv2DGeometry) -> Conv2DFilterGradients {
        var gradWeight = Tensor(zeros: g.weightShape)
        let (pointwise, positions, planeSize, outputsPerGroup) = (g.isPointwise, g.columnCount, g.inputHeight * g.inputWidth, g.outputChannelsPerGroup)
        // Channel blocks only partition the result; the tile width (the reduction order) depends
        // on the shapes and the budget alone.
        let (plan, gemm, packColumns) = (backwardFilterPlan(g), self.gemm, self.packColumns)
        let (blocks, width, scratch) = (plan.blocks, plan.width, plan.scratchBuffers())
        Tensor.withSendablePointers(reading: gradOutput, input, writing: &gradWeight) { dy, x, dw in
            Parallel.forEach(plan.items, threads: pointwise ? threads : plan.workers) { worker, item in
                let block = plan.channelBlock(item % blocks, group: item / blocks, geometry: g)
                // ∂W[k-block, rows of these channels] (row stride (C/g)·R·S).
                let result = dw.pointer + block.weightOffset
                for n in 0..<g.batch {
                    let gradients = dy.pointer + (n * g.outputChannels + block.firstOutput) * positions
                    let imageStart = x.pointer + n * g.inputChannels * planeSize
                    var start = 0
                    while start < positions {
                        let count = pointwise ? positions : min(width, positions - start)
                        let columns: UnsafePointer<Float>
                        let columnStride: Int
                        if pointwise {
                            columns = UnsafePointer(imageStart + block.channels.lowerBound * planeSize)
                            columnStride = positions
                        } else {
                            packColumns(imageStart, g, block.channels, start..<(start + count), scratch[worker])
                            columns = UnsafePointer(scratch[worker])
                            columnStride = count
                        }
                        let first = n == 0 && start == 0
                        gemm(false, true, outputsPerGroup, block.rows, count,
                             1, gradients + start, positions, columns, columnStride,
                             first ? 0 : 1, result, g.columnRows)
                        start += count
                    }
                }
            }
        }
        return Conv2DFilterGradients(weight: gradWeight, bias: Self.biasGradient(gradOutput, geometry: g, threads: threads))
    }
}
