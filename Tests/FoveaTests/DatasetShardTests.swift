import Fovea
import Testing

/// `DataLoader(shard:)`: the ranks of a data-parallel job together take every example exactly
/// once per epoch, in the batches one process with the global batch size takes, with the same
/// number of steps on every rank and never an empty part.
@Suite struct DatasetShardTests {
    /// `count` 1×1×1 images whose pixel is their index.
    static func numbered(_ count: Int) throws -> MNISTDataset {
        try MNISTDataset(images: Tensor(shape: [count, 1, 1, 1], scalars: (0..<count).map(Float.init)),
                         labels: (0..<count).map { $0 % 10 }, classNames: (0..<10).map(String.init))
    }

    static func members(_ batch: Batch) -> [Int] { batch.images.scalars.map { Int($0) } }

    @Test func ranksCoverEveryExampleOnceInTheGlobalBatches() throws {
        for total in [1, 2, 3, 5, 7, 12, 13, 29, 47, 100] {
            for ranks in 1...5 where ranks <= total {
                for batchSize in [1, 2, 3, 5, 8] {
                    let loaders = try (0..<ranks).map {
                        try DataLoader(try Self.numbered(total), batchSize: batchSize, shuffle: true, seed: 17,
                                       shard: try DatasetShard(index: $0, count: ranks))
                    }
                    let single = try DataLoader(try Self.numbered(total), batchSize: batchSize * ranks, shuffle: true, seed: 17)
                    let context = "\(total) examples, \(ranks) ranks of \(batchSize)"
                    for epoch in 0..<2 {
                        let batchCounts = Set(loaders.map(\.batchCount))
                        #expect(batchCounts.count == 1, "\(context): ranks take different numbers of steps \(batchCounts)")
                        let perRank = loaders.map { loader in
                            (0..<loader.batchCount).map { try! Self.members(loader.batch($0, epoch: epoch, order: loader.order(epoch: epoch))) }
                        }
                        let all = perRank.flatMap { $0.flatMap { $0 } }
                        #expect(all.sorted() == Array(0..<total), "\(context), epoch \(epoch): not every example exactly once")
                        #expect(perRank.allSatisfy { $0.allSatisfy { !$0.isEmpty } }, "\(context): an empty part")
                        // Each global batch is the single process's batch; when the last one
                        // joined the one before (fewer examples than ranks), it is those two.
                        let order = single.order(epoch: epoch)
                        let singleBatches = try (0..<single.batchCount).map { try Self.members(single.batch($0, epoch: epoch, order: order)) }
                        let merged = single.batchCount - loaders[0].batchCount
                        #expect(merged == 0 || (merged == 1 && singleBatches.last!.count < ranks), "\(context): \(merged) batches joined")
                        for step in 0..<loaders[0].batchCount {
                            let global = perRank.flatMap { $0[step] }
                            let expected = step == loaders[0].batchCount - 1 ? singleBatches[step...].flatMap { $0 } : singleBatches[step]
                            #expect(global == expected, "\(context), epoch \(epoch), step \(step): not the single process's batch")
                            let sizes = perRank.map { $0[step].count }
                            #expect(sizes.max()! - sizes.min()! <= 1, "\(context), step \(step): parts \(sizes)")
                        }
                    }
                }
            }
        }
    }

    /// A last global batch smaller than the number of ranks joins the one before: 13 examples on
    /// 3 ranks of 4 are one batch of 13 (4 + 4 + 5), not 12 and 1.
    @Test func aLastBatchSmallerThanTheRanksJoinsThePreviousOne() throws {
        let loaders = try (0..<3).map { try DataLoader(try Self.numbered(13), batchSize: 4, shuffle: false, shard: try DatasetShard(index: $0, count: 3)) }
        #expect(loaders.map(\.batchCount) == [1, 1, 1])
        #expect(loaders.map { $0.batchRange(0).count } == [4, 4, 5])
    }

    @Test func badShardsAreErrors() throws {
        #expect(throws: FoveaError.self) { try DatasetShard(index: 2, count: 2) }
        #expect(throws: FoveaError.self) { try DatasetShard(index: 0, count: 0) }
        #expect(throws: FoveaError.self) { try DataLoader(try Self.numbered(2), batchSize: 1, shard: try DatasetShard(index: 0, count: 3)) }
    }
}
