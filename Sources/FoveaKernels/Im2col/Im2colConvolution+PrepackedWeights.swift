import FoveaCore

/// Backward-data's Wᵀ packed once per call (`Im2colConvolution.prepackedGEMM`): one buffer holds
/// every (group, channel block)'s packed Wᵀ, which each image's items multiply.
extension Im2colConvolution {
    /// How backward-data packs Wᵀ once: the backend's GEMM, where each (group, channel block)'s
    /// packed Wᵀ starts in one buffer (index group · blocks + block), and the buffer's floats.
    struct PrepackedWeights {
        let gemm: PrepackedGEMM
        let offsets: [Int]
        let floats: Int
    }

    /// The packing of `prepackedGEMM` when backward-data of `g` packs Wᵀ once: the packed blocks and
    /// the workers' tiles fit `workspaceLimitBytes` together; nil (each image packs its own) otherwise.
    func prepackedWeights(_ g: Conv2DGeometry, plan: ChannelBlockPlan) -> PrepackedWeights? {
        guard let prepackedGEMM else { return nil }
        var offsets: [Int] = []
        var floats = 0
        for group in 0..<g.groups {
            for block in 0..<plan.blocks {
                offsets.append(floats)
                floats += prepackedGEMM.packedFloats(plan.channelBlock(block, group: group, geometry: g).rows, g.outputChannelsPerGroup)
            }
        }
        guard (plan.workers * plan.scratchFloats + floats) * MemoryLayout<Float>.stride <= workspaceLimitBytes else { return nil }
        return PrepackedWeights(gemm: prepackedGEMM, offsets: offsets, floats: floats)
    }

    /// Wᵀ of each (group, channel block) of `plan` packed as `packing` lays it out, in parallel over the blocks.
    func packTransposedWeights(_ weight: Tensor, geometry g: Conv2DGeometry, plan: ChannelBlockPlan,
                               as packing: PrepackedWeights) -> Tensor {
        var packed = Tensor(uninitialized: [max(packing.floats, 1)])  // `pack` writes every block's floats
        weight.withUnsafeBufferPointer { wt in
            packed.withUnsafeMutableBufferPointer { out in
                let (wt, out) = (SendablePointer(wt.baseAddress!), SendablePointer(out.baseAddress!))
                Parallel.forEach(packing.offsets.count, threads: threads) { _, item in
                    let block = plan.channelBlock(item % plan.blocks, group: item / plan.blocks, geometry: g)
                    packing.gemm.pack(true, wt.pointer + block.weightOffset, g.columnRows, block.rows, g.outputChannelsPerGroup,
                                      out.pointer + packing.offsets[item])
                }
            }
        }
        return packed
    }
}
