import FoveaCore

/// Pointers to one Winograd call's operands: `input` `[N, C, H, W]`, `weight` `[K, C, 3, 3]`,
/// `bias` `[K]`, `output` `[N, K, P, Q]`, and the kept transformed filters of every chunk (or nil).
struct WinogradOperands: @unchecked Sendable {
    let input: UnsafePointer<Float>
    let weight: UnsafePointer<Float>
    let bias: UnsafePointer<Float>
    let output: UnsafeMutablePointer<Float>
    let keptFilters: UnsafeMutablePointer<Float>?

    init(input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
         output: UnsafeMutablePointer<Float>, keptFilters: UnsafeMutablePointer<Float>?) {
        (self.input, self.weight, self.bias, self.output, self.keptFilters) = (input, weight, bias, output, keptFilters)
    }
}

/// One call of `WinogradConvolution` with tile transform `T`: its operands, buffers and plan, and
/// the steps of one work item (tile block × output-channel block of a chunk):
/// `transformInput` (step 2, skipped when the worker holds this block's V already),
/// `multiply` (step 3, the α² products) and `transformOutput` (step 4).
struct WinogradCall<T: WinogradTransform>: @unchecked Sendable {
    /// The call's buffers: one chunk's transformed filters (when they are not kept), each
    /// worker's V and M, and the tile block whose V each worker holds.
    final class Buffers: @unchecked Sendable {
        let filters: ScratchBuffers
        let scratch: ScratchBuffers
        let lastBlock: LastBlocks

        init(plan: WinogradPlan, keepsFilters: Bool) {
            filters = ScratchBuffers(workers: 1, capacity: keepsFilters ? 0 : plan.filterFloats)
            scratch = ScratchBuffers(workers: plan.workers, capacity: plan.workerFloats)
            lastBlock = LastBlocks(workers: plan.workers)
        }
    }

    let operands: WinogradOperands
    let buffers: Buffers
    let geometry: Conv2DGeometry
    let plan: WinogradPlan
    let tiles: WinogradTiles
    let epilogue: ConvolutionEpilogue
    let flipped: Bool
    let threads: Int
    let gemm: SerialGEMM
    let panelGEMM: WinogradPanelGEMM?
    let kernels: WinogradTileKernels?

    private var alphaSquared: Int { plan.inputTile * plan.inputTile }

    /// The first output channel of `chunk` and its channel count.
    private func outputs(ofChunk chunk: Int) -> (first: Int, count: Int) {
        let first = chunk * plan.chunkHeight
        return (first, min(plan.chunkHeight, geometry.outputChannels - first))
    }

    /// Step 1: U of `chunk`, kept from an earlier call or transformed now into the call's buffer.
    func filters(ofChunk chunk: Int) -> SendablePointer<Float> {
        if let kept = operands.keptFilters { return SendablePointer(kept + chunk * plan.filterFloats) }
        let (first, count) = outputs(ofChunk: chunk)
        let u = buffers.filters[0]
        WinogradFilters.transformChunk(T.self, weight: operands.weight, geometry: geometry, flipped: flipped, firstOutput: first,
                                       count: count, plan: plan, threads: threads, into: u)
        return SendablePointer(u)
    }

    /// Steps 2–4 for work item `item` of `chunk` on `worker`.
    func runItem(_ item: Int, worker: Int, chunk: Int, filters u: SendablePointer<Float>) {
        let (block, kBlock) = plan.workItem(item)
        let (firstOutput, chunkCount) = outputs(ofChunk: chunk)
        let kStart = kBlock * plan.kBlockHeight
        let kCount = min(plan.kBlockHeight, chunkCount - kStart)
        guard kCount > 0 else { return }
        let firstTile = block * plan.blockWidth
        let tileCount = min(plan.blockWidth, plan.tiles - firstTile)
        let v = buffers.scratch[worker]
        let products = v + alphaSquared * plan.inputStride
        if buffers.lastBlock[worker] != block {
            transformInput(firstTile: firstTile, count: tileCount, into: v)
            buffers.lastBlock[worker] = block
        }
        multiply(filters: u.pointer, kStart: kStart, kCount: kCount, v: v, tileCount: tileCount, into: products)
        let channels = (firstOutput + kStart)..<(firstOutput + kStart + kCount)
        transformOutput(products, firstTile: firstTile, count: tileCount, outputChannels: channels)
    }

    /// Step 2: V of tiles `firstTile..<firstTile + count`, by the device's tile kernels or the portable transform.
    private func transformInput(firstTile: Int, count: Int, into v: UnsafeMutablePointer<Float>) {
        if let kernels {
            kernels.input(tiles, operands.input, firstTile, count, v)
        } else {
            tiles.transformInput(T.self, operands.input, firstTile: firstTile, count: count, into: v)
        }
    }

    /// Step 3: `M_ξ [kCount × tileCount] = U_ξ [rows kStart..<kStart + kCount] · V_ξ` for every ξ,
    /// by the panel GEMM where the device has one, else by the serial GEMM.
    private func multiply(filters u: UnsafeMutablePointer<Float>, kStart: Int, kCount: Int, v: UnsafeMutablePointer<Float>,
                          tileCount: Int, into products: UnsafeMutablePointer<Float>) {
        let channels = geometry.inputChannels
        for xi in 0..<alphaSquared {
            let vXi = v + xi * plan.inputStride
            let mXi = products + xi * plan.productStride
            if let panelGEMM {
                panelGEMM.multiply(u + xi * plan.filterRows * channels, plan.filterRows, kStart, kCount,
                                   channels, vXi, tileCount, mXi, plan.paddedWidth)
            } else {
                gemm(false, false, kCount, tileCount, channels,
                     1, u + (xi * plan.chunkHeight + kStart) * channels, channels,
                     vXi, plan.paddedWidth, 0, mXi, plan.paddedWidth)
            }
        }
    }

    /// Step 4: the output tiles of `outputChannels` from M, with the bias and the epilogue.
    private func transformOutput(_ products: UnsafeMutablePointer<Float>, firstTile: Int, count: Int, outputChannels: Range<Int>) {
        if let kernels {
            kernels.output(tiles, products, plan.productStride, firstTile, count, outputChannels, operands.bias, epilogue, operands.output)
        } else {
            tiles.transformOutput(T.self, products, productStride: plan.productStride, firstTile: firstTile, count: count,
                                  outputChannels: outputChannels, bias: operands.bias, epilogue: epilogue, into: operands.output)
        }
    }
}
