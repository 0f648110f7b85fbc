import FoveaCore

/// Backward-data's Wᵀ packed once per call (`Im2colConvolution.prepackedGEMM`): one buffer holds
/// every (group, channel block)'s packed Wᵀ, which each image's items multiply.
extension Im2colConvolution {
    /// `prepackedGEMM` when backward-data of `g` packs Wᵀ once: the packed blocks and the workers'
    /// tiles fit `workspaceLimitBytes` together; nil (each image packs its own) otherwise.
    func prepackedWeights(_ g: Conv2DGeometry, plan: ChannelBlockPlan) -> PrepackedGEMM? {
        guard let prepackedGEMM else { return nil }
        let floats = plan.workers * plan.scratchFloats + packedWeightLayout(g, plan: plan, prepackedGEMM).floats
        return floats * MemoryLayout<Float>.stride <= workspaceLimitBytes ? prepackedGEMM : nil
    }

    /// Where each (group, channel block)'s packed Wᵀ starts in one buffer, and the buffer's floats.
    func packedWeightLayout(_ g: Conv2DGeometry, plan: ChannelBlockPlan, _ prepacked: PrepackedGEMM) -> (offsets: [Int], floats: Int) {
        var offsets: [Int] = []
        var floats = 0
        for group in 0..<g.groups {
            for block in 0..<plan.blocks {
                offsets.append(floats)
                floats += prepacked.packedFloats(plan.channelBlock(block, group: group, geometry: g).rows, g.outputChannelsPerGroup)
            }
        }
        return (offsets, floats)
    }

    /// Wᵀ of each (group, channel block) of `plan` packed by `prepacked`, in parallel over the blocks.
    func packTransposedWeights(_ weight: Tensor, geometry g: Conv2DGeometry, plan: ChannelBlockPlan,
                               with prepacked: PrepackedGEMM) -> (tensor: Tensor, offsets: [Int]) {
        let (offsets, floats) = packedWeightLayout(g, plan: plan, prepacked)
        var packed = Tensor(uninitialized: [max(floats, 1)])  // `pack` writes every block's floats
        weight.withUnsafeBufferPointer { wt in
            packed.withUnsafeMutableBufferPointer { out in
                let (wt, out) = (SendablePointer(wt.baseAddress!), SendablePointer(out.baseAddress!))
                Parallel.forEach(offsets.count, threads: threads) { _, item in
                    let block = plan.channelBlock(item % plan.blocks, group: item / plan.blocks, geometry: g)
                    prepacked.pack(true, wt.pointer + block.weightOffset, g.columnRows, block.rows, g.outputChannelsPerGroup,
                                   out.pointer + offsets[item])
                }
            }
        }
        return (packed, offsets)
    }
}
