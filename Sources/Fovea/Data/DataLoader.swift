import Dispatch
import Foundation

/// Mini-batches from an `ImageDataset`: seeded shuffling per epoch, optional augmentation, and
/// the next batch prepared on a background queue while the caller works on the current one.
///
/// The order and the augmentation of epoch `e` depend only on `(seed, e)`, never on timing, so
/// runs are reproducible; an example's augmentation depends on its place in the epoch's order,
/// not on the batch size or the shard. Iterating the loader again starts the next epoch.
///
/// **Shards** (data parallelism): with `shard` = rank r of n, global batch i is the i-th run of
/// `batchSize × n` examples of the epoch's order — the batch one process with that batch size
/// sees — and this loader yields its r-th part (parts differ by at most one example). So the n
/// ranks together take every example exactly once per epoch. A last global batch with fewer
/// examples than ranks joins the one before it, so no rank is ever left without an example.
public final class DataLoader: Sequence, @unchecked Sendable {
    public let dataset: any ImageDataset
    public let batchSize: Int
    public let shuffle: Bool
    /// `.none` (also written `nil`) for no augmentation.
    public let augmentation: Augmentation
    public let seed: UInt64
    public let dropLast: Bool
    /// This loader's part of every global batch; `.whole` outside data parallelism.
    public let shard: DatasetShard
    /// The epoch the next iteration produces (0-based); settable to resume.
    public var epoch: Int = 0

    /// - Parameters:
    ///   - batchSize: examples per batch of this loader (per rank when sharded).
    ///   - augmentation: random crops and flips per example; `nil` or `.none` for none.
    ///   - shard: this rank's part of each global batch (the same `seed` on every rank).
    /// - Throws: `.invalidArgument` when `batchSize` < 1, the augmentation's padding is
    ///   negative or its flip probability outside [0, 1], or the dataset has fewer examples than
    ///   the shard has ranks.
    public init(_ dataset: any ImageDataset, batchSize: Int, shuffle: Bool = true, augmentation: Augmentation = .none,
                seed: UInt64 = 0, dropLast: Bool = false, shard: DatasetShard = .whole) throws {
        let check = ArgumentCheck("DataLoader")
        try check.atLeast(1, batchSize, "batchSize")
        try check.require(dataset.count >= shard.count, "dataset", mustBe: "at least one example per rank (\(shard.count) ranks)",
                          got: "\(dataset.count) examples")
        try check.atLeast(0, augmentation.padding, "augmentation padding")
        try check.fraction(augmentation.flipProbability, "augmentation flipProbability", includingOne: true)
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.augmentation = augmentation
        self.seed = seed
        self.dropLast = dropLast
        self.shard = shard
    }

    /// Examples per global batch: `batchSize` × the shard's ranks.
    public var globalBatchSize: Int { batchSize * shard.count }

    /// Batches per epoch (the same on every rank of a shard).
    public var batchCount: Int {
        let (total, global) = (dataset.count, globalBatchSize)
        if dropLast { return total / global }
        let steps = (total + global - 1) / global
        let last = total - (steps - 1) * global
        return steps > 1 && last < shard.count ? steps - 1 : steps
    }

    /// The positions in the epoch's order of global batch `index` (all ranks' examples).
    public func globalBatchRange(_ index: Int) -> Range<Int> {
        let start = index * globalBatchSize
        let end = index == batchCount - 1 && !dropLast ? dataset.count : Swift.min(start + globalBatchSize, dataset.count)
        return start..<end
    }

    /// The positions in the epoch's order of this shard's part of global batch `index`.
    public func batchRange(_ index: Int) -> Range<Int> {
        let global = globalBatchRange(index)
        let (part, parts) = (shard.index, shard.count)
        return (global.lowerBound + part * global.count / parts)..<(global.lowerBound + (part + 1) * global.count / parts)
    }

    /// The example order of `epoch`.
    public func order(epoch: Int) -> [Int] {
        var indices = Array(0..<dataset.count)
        if shuffle {
            var generator = SeededGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
            indices.shuffle(using: &generator)
        }
        return indices
    }

    /// Builds batch `index` of `epoch` (deterministic).
    public func batch(_ index: Int, epoch: Int, order: [Int]) throws -> Batch {
        let positions = batchRange(index)
        let shape = dataset.exampleShape
        var images = Tensor(zeros: Shape([positions.count] + shape.dimensions))
        var labels: [Int] = []
        for (row, position) in positions.enumerated() {
            var (image, label) = try dataset.example(at: order[position])
            if augmentation.padding > 0 || augmentation.flipProbability > 0 {
                var generator = SeededGenerator(seed: seed ^ (UInt64(epoch) << 32 | UInt64(position)) &* 0xD1B5_4A32_D192_ED03)
                image = augmentation.apply(image, using: &generator)
            }
            images.withUnsafeMutableBufferPointer { out in
                image.withUnsafeBufferPointer { one in
                    (out.baseAddress! + row * shape.count).update(from: one.baseAddress!, count: shape.count)
                }
            }
            labels.append(label)
        }
        return Batch(images: images, labels: labels)
    }

    public func makeIterator() -> Iterator {
        defer { epoch += 1 }
        return Iterator(loader: self, epoch: epoch)
    }

    /// Yields the batches of one epoch; batch i + 1 is prepared in the background while the caller
    /// holds batch i. A loading error ends the epoch and is available as `error`.
    public final class Iterator: IteratorProtocol, @unchecked Sendable {
        let loader: DataLoader
        let epoch: Int
        let order: [Int]
        var nextIndex = 0
        var pending: (index: Int, group: DispatchGroup, box: ResultBox)?
        /// The error that ended the epoch early, if any.
        public private(set) var error: (any Error)?
        private static let queue = DispatchQueue(label: "fovea.dataloader", qos: .userInitiated)

        final class ResultBox: @unchecked Sendable { var result: Result<Batch, any Error>? }

        init(loader: DataLoader, epoch: Int) {
            self.loader = loader
            self.epoch = epoch
            order = loader.order(epoch: epoch)
            prefetch(0)
        }

        private func prefetch(_ index: Int) {
            guard index < loader.batchCount else { pending = nil; return }
            let group = DispatchGroup(), box = ResultBox()
            let (loader, epoch, order) = (self.loader, self.epoch, self.order)
            Self.queue.async(group: group) { box.result = Result { try loader.batch(index, epoch: epoch, order: order) } }
            pending = (index, group, box)
        }

        public func next() -> Batch? {
            guard error == nil, let current = pending else { return nil }
            current.group.wait()
            prefetch(current.index + 1)
            switch current.box.result! {
            case .success(let batch): return batch
            case .failure(let failure):
                error = failure
                pending = nil
                return nil
            }
        }
    }
}
