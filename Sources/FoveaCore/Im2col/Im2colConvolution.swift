/// A single-threaded row-major sgemm, `C ← alpha·op(A)·op(B) + beta·C` (arguments as in
/// `Device.gemm`). The im2col driver calls it from inside its GCD workers, so it must not start
/// threads of its own.
public typealias SerialGEMM = @Sendable (
    _ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int,
    _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
    _ b: UnsafePointer<Float>, _ ldb: Int,
    _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
) -> Void

/// Convolution forward and backward as GEMMs over tiles of the im2col matrix, parallel over GCD.
/// Shared by every GEMM-based backend; each brings its own serial GEMM.
///
/// **Workspace bound.** Each worker owns one scratch buffer of at most `workspaceBytesPerWorker`
/// bytes (default 8 MiB) for its tile of the column matrix, so a call allocates at most
/// `threads × workspaceBytesPerWorker` however large the batch or image (one image column is
/// never split, so the bound is exceeded only when a single output position's column —
/// `(C/groups)·R·S` Floats — is larger than the budget). 1×1 convolutions with stride 1 and no
/// padding read the input directly and need no workspace.
///
/// **Work split.**
/// - forward: items are (image, group, tile of output positions, block of output channels); each
///   packs its tile and multiplies. Items write disjoint outputs.
/// - backward-data: items are (image, group, block of input channels); each computes the column
///   gradient `Wᵀ·∂y` for its channels tile by tile and scatters it (col2im) into its channels only.
/// - backward-filter: items are (group, block of input channels); each sums over images and tiles
///   in a fixed order.
///
/// Every cut (tile widths, channel blocks, hence every GEMM call's m, n, k) depends on the shapes,
/// the workspace budget and `WorkGrain.items` only, never on the thread count; the threads only
/// pick up items. So results are bit-identical at any thread count, whatever the serial GEMM.
public struct Im2colConvolution: Sendable {
    public let gemm: SerialGEMM
    public let threads: Int
    public let workspaceBytesPerWorker: Int

    public static let defaultWorkspaceBytesPerWorker = 8 << 20

    public init(threads: Int, workspaceBytesPerWorker: Int = Im2colConvolution.defaultWorkspaceBytesPerWorker, gemm: @escaping SerialGEMM) {
        self.gemm = gemm
        self.threads = max(threads, 1)
        self.workspaceBytesPerWorker = workspaceBytesPerWorker
    }

    /// True when the column matrix is the input itself: 1×1 kernel, stride 1, no padding.
    static func isPointwise(_ g: Conv2DGeometry) -> Bool {
        g.kernelHeight == 1 && g.kernelWidth == 1 && g.options.stride == 1 && g.options.padding == 0
    }

    /// How many output positions fit one worker's buffer for `rows` column-matrix rows.
    func tileWidth(rows: Int, total: Int) -> Int {
        let floats = max(workspaceBytesPerWorker / MemoryLayout<Float>.stride, 1)
        var width = max(floats / max(rows, 1), 1)
        if width >= 64 { width -= width % 16 }
        return min(width, total)
    }

    /// How a forward call is split: tiles of `width` output positions per (image, group), and
    /// `channelBlocks` blocks of `blockHeight` output channels.
    struct ForwardPlan {
        var width: Int, tiles: Int, channelBlocks: Int, blockHeight: Int, items: Int, workers: Int, scratchFloats: Int
    }

    func forwardPlan(_ g: Conv2DGeometry) -> ForwardPlan {
        let positions = g.columnCount
        // Enough tiles for about `WorkGrain.items` items (never the thread count: see WorkGrain).
        let images = g.batch * g.groups
        let wantedTiles = max(1, (WorkGrain.items + images - 1) / images)
        let width = min(tileWidth(rows: g.columnRows, total: positions), max((positions + wantedTiles - 1) / wantedTiles, 64), positions)
        let tiles = (positions + width - 1) / width
        // Split output channels too when images × tiles are still few.
        let channelBlocks = min(max(1, (WorkGrain.items / 2) / (images * tiles)), max(g.outputChannelsPerGroup / 16, 1))
        let blockHeight = (g.outputChannelsPerGroup + channelBlocks - 1) / channelBlocks
        let items = images * tiles * channelBlocks
        let pointwise = Self.isPointwise(g)
        return ForwardPlan(width: width, tiles: tiles, channelBlocks: channelBlocks, blockHeight: blockHeight, items: items,
                           workers: pointwise ? 0 : min(threads, items), scratchFloats: pointwise ? 0 : g.columnRows * width)
    }

    /// How a backward call is split: blocks of `blockSize` input channels per unit (image and
    /// group for backward-data, group for backward-filter), tiles of `width` output positions.
    struct ChannelBlockPlan {
        var blockSize: Int, blocks: Int, width: Int, items: Int, workers: Int, scratchFloats: Int
    }

    /// The fewest column rows (input channels × R·S) a backward channel block has, when the group has that many.
    static let minimumBlockRows = 32

    func channelBlockPlan(_ g: Conv2DGeometry, units: Int, tileRowsPerChannel: Int?) -> ChannelBlockPlan {
        let area = g.kernelHeight * g.kernelWidth
        let wantedBlocks = max(1, (WorkGrain.items + units - 1) / units)
        // At least `minimumBlockRows` column rows per block (a pointwise layer has one row per
        // channel), so that no block's GEMM is a sliver.
        let minimumChannels = (Self.minimumBlockRows + area - 1) / area
        let blockSize = min(max(minimumChannels, (g.inputChannelsPerGroup + wantedBlocks - 1) / wantedBlocks), g.inputChannelsPerGroup)
        let blocks = (g.inputChannelsPerGroup + blockSize - 1) / blockSize
        let width = tileWidth(rows: (tileRowsPerChannel ?? blockSize) * area, total: g.columnCount)
        let items = units * blocks
        let pointwise = Self.isPointwise(g)
        return ChannelBlockPlan(blockSize: blockSize, blocks: blocks, width: width, items: items,
                                workers: pointwise ? 0 : min(threads, items), scratchFloats: pointwise ? 0 : blockSize * area * width)
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

    /// The workspace bytes one call of `pass` (`forward`, `backward-data`, `backward-filter`)
    /// allocates for `g`: one column-tile buffer per worker that runs (0 for pointwise layers).
    public func workspaceBytes(for g: Conv2DGeometry, pass: String) -> Int {
        if pass == "forward" {
            let plan = forwardPlan(g)
            return plan.workers * plan.scratchFloats * MemoryLayout<Float>.stride
        }
        let plan = pass == "backward-data" ? backwardDataPlan(g) : backwardFilterPlan(g)
        return plan.workers * plan.scratchFloats * MemoryLayout<Float>.stride
    }

    // MARK: Forward

    public func forward(input: Tensor, weight: Tensor, bias: Tensor?, geometry g: Conv2DGeometry) -> Tensor {
        var output = Tensor(zeros: g.outputShape)
        let pointwise = Self.isPointwise(g)
        let rows = g.columnRows
        let positions = g.columnCount
        let outputsPerGroup = g.outputChannelsPerGroup
        let plan = forwardPlan(g)
        let (width, tiles, channelBlocks, blockHeight) = (plan.width, plan.tiles, plan.channelBlocks, plan.blockHeight)
        let scratch = ScratchBuffers(workers: plan.workers, capacity: plan.scratchFloats)
        let gemm = self.gemm
        input.withUnsafeBufferPointer { x in
            weight.withUnsafeBufferPointer { wt in
                output.withUnsafeMutableBufferPointer { y in
                    let (x, wt, y) = (SendablePointer(x.baseAddress!), SendablePointer(wt.baseAddress!), SendablePointer(y.baseAddress!))
                    Parallel.forEach(plan.items, threads: threads) { worker, item in
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
                        let columns: UnsafePointer<Float>
                        let columnStride: Int
                        if pointwise {
                            columns = UnsafePointer(imageStart + channels.lowerBound * positions + start)
                            columnStride = positions
                        } else {
                            Im2col.pack(image: imageStart, geometry: g, channels: channels,
                                        columns: start..<(start + count), into: scratch[worker])
                            columns = UnsafePointer(scratch[worker])
                            columnStride = count
                        }
                        let k = group * outputsPerGroup + firstOutput
                        let out = y.pointer + (n * g.outputChannels + k) * positions + start
                        gemm(false, false, outputCount, count, rows,
                             1, wt.pointer + k * rows, rows, columns, columnStride, 0, out, positions)
                    }
                }
            }
        }
        if let bias { addBias(bias, to: &output, geometry: g) }
        return output
    }

    private func addBias(_ bias: Tensor, to output: inout Tensor, geometry g: Conv2DGeometry) {
        let positions = g.columnCount
        bias.withUnsafeBufferPointer { b in
            output.withUnsafeMutableBufferPointer { y in
                let (b, y) = (SendablePointer(b.baseAddress!), SendablePointer(y.baseAddress!))
                Parallel.forEach(g.batch * g.outputChannels, threads: threads) { _, plane in
                    let value = b.pointer[plane % g.outputChannels]
                    let row = y.pointer + plane * positions
                    for i in 0..<positions { row[i] += value }
                }
            }
        }
    }

    // MARK: Backward data

    public func backwardData(gradOutput: Tensor, weight: Tensor, geometry g: Conv2DGeometry) -> Tensor {
        var gradInput = Tensor(zeros: g.inputShape)
        let pointwise = Self.isPointwise(g)
        let kernelArea = g.kernelHeight * g.kernelWidth
        let positions = g.columnCount
        let planeSize = g.inputHeight * g.inputWidth
        let channelsPerGroup = g.inputChannelsPerGroup
        let outputsPerGroup = g.outputChannelsPerGroup
        let plan = backwardDataPlan(g)
        let (blockSize, blocks, width) = (plan.blockSize, plan.blocks, plan.width)
        let scratch = ScratchBuffers(workers: plan.workers, capacity: plan.scratchFloats)
        let gemm = self.gemm
        gradOutput.withUnsafeBufferPointer { dy in
            weight.withUnsafeBufferPointer { wt in
                gradInput.withUnsafeMutableBufferPointer { dx in
                    let (dy, wt, dx) = (SendablePointer(dy.baseAddress!), SendablePointer(wt.baseAddress!), SendablePointer(dx.baseAddress!))
                    Parallel.forEach(plan.items, threads: threads) { worker, item in
                        let block = item % blocks
                        let image = item / blocks
                        let (n, group) = (image / g.groups, image % g.groups)
                        let firstLocal = block * blockSize
                        let channelCount = min(blockSize, channelsPerGroup - firstLocal)
                        let firstChannel = group * channelsPerGroup + firstLocal
                        let rowCount = channelCount * kernelArea
                        let k = group * outputsPerGroup
                        // Wᵀ restricted to this block: rows firstLocal·R·S ..< +rowCount of the
                        // group's [K/g, (C/g)·R·S] weight, transposed.
                        let weights = wt.pointer + k * g.columnRows + firstLocal * kernelArea
                        let gradients = dy.pointer + (n * g.outputChannels + k) * positions
                        let imageStart = dx.pointer + n * g.inputChannels * planeSize
                        if pointwise {
                            gemm(true, false, rowCount, positions, outputsPerGroup,
                                 1, weights, g.columnRows, gradients, positions,
                                 0, imageStart + firstChannel * planeSize, positions)
                            return
                        }
                        var start = 0
                        while start < positions {
                            let count = min(width, positions - start)
                            gemm(true, false, rowCount, count, outputsPerGroup,
                                 1, weights, g.columnRows, gradients + start, positions,
                                 0, scratch[worker], count)
                            Im2col.accumulate(columns: scratch[worker], geometry: g,
                                              channels: firstChannel..<(firstChannel + channelCount),
                                              columns: start..<(start + count), into: imageStart)
                            start += count
                        }
                    }
                }
            }
        }
        return gradInput
    }

    // MARK: Backward filter

    public func backwardFilter(gradOutput: Tensor, input: Tensor, geometry g: Conv2DGeometry) -> Conv2DFilterGradients {
        var gradWeight = Tensor(zeros: g.weightShape)
        let pointwise = Self.isPointwise(g)
        let kernelArea = g.kernelHeight * g.kernelWidth
        let positions = g.columnCount
        let planeSize = g.inputHeight * g.inputWidth
        let channelsPerGroup = g.inputChannelsPerGroup
        let outputsPerGroup = g.outputChannelsPerGroup
        // Channel blocks only partition the result; the tile width (the reduction order) depends
        // on the shapes and the budget alone.
        let plan = backwardFilterPlan(g)
        let (blockSize, blocks, width) = (plan.blockSize, plan.blocks, plan.width)
        let scratch = ScratchBuffers(workers: plan.workers, capacity: plan.scratchFloats)
        let gemm = self.gemm
        gradOutput.withUnsafeBufferPointer { dy in
            input.withUnsafeBufferPointer { x in
                gradWeight.withUnsafeMutableBufferPointer { dw in
                    let (dy, x, dw) = (SendablePointer(dy.baseAddress!), SendablePointer(x.baseAddress!), SendablePointer(dw.baseAddress!))
                    Parallel.forEach(plan.items, threads: threads) { worker, item in
                        let block = item % blocks
                        let group = item / blocks
                        let firstLocal = block * blockSize
                        let channelCount = min(blockSize, channelsPerGroup - firstLocal)
                        let firstChannel = group * channelsPerGroup + firstLocal
                        let rowCount = channelCount * kernelArea
                        let k = group * outputsPerGroup
                        // ∂W[k-block, rows of these channels] (row stride (C/g)·R·S).
                        let result = dw.pointer + k * g.columnRows + firstLocal * kernelArea
                        for n in 0..<g.batch {
                            let gradients = dy.pointer + (n * g.outputChannels + k) * positions
                            let imageStart = x.pointer + n * g.inputChannels * planeSize
                            var start = 0
                            while start < positions {
                                let count = pointwise ? positions : min(width, positions - start)
                                let columns: UnsafePointer<Float>
                                let columnStride: Int
                                if pointwise {
                                    columns = UnsafePointer(imageStart + firstChannel * planeSize)
                                    columnStride = positions
                                } else {
                                    Im2col.pack(image: imageStart, geometry: g,
                                                channels: firstChannel..<(firstChannel + channelCount),
                                                columns: start..<(start + count), into: scratch[worker])
                                    columns = UnsafePointer(scratch[worker])
                                    columnStride = count
                                }
                                let first = n == 0 && start == 0
                                gemm(false, true, outputsPerGroup, rowCount, count,
                                     1, gradients + start, positions, columns, columnStride,
                                     first ? 0 : 1, result, g.columnRows)
                                start += count
                            }
                        }
                    }
                }
            }
        }
        return Conv2DFilterGradients(weight: gradWeight, bias: Self.biasGradient(gradOutput, geometry: g))
    }

    /// `∂L/∂b[k] = Σ_{n,p,q} ∂L/∂y[n,k,p,q]`, summed in Double in a fixed order.
    public static func biasGradient(_ gradOutput: Tensor, geometry g: Conv2DGeometry) -> Tensor {
        var result = Tensor(zeros: [g.outputChannels])
        let positions = g.columnCount
        gradOutput.withUnsafeBufferPointer { dy in
            result.withUnsafeMutableBufferPointer { db in
                for k in 0..<g.outputChannels {
                    var sum: Double = 0
                    for n in 0..<g.batch {
                        let plane = dy.baseAddress! + (n * g.outputChannels + k) * positions
                        var partial: Float = 0
                        for i in 0..<positions { partial += plane[i] }
                        sum += Double(partial)
                    }
                    db[k] = Float(sum)
                }
            }
        }
        return result
    }
}
