import Dispatch
import Foundation

/// Mini-batches from an `ImageDataset`: seeded shuffling per epoch, optional augmentation, and
/// the next batch prepared on a background queue while the caller works on the current one.
///
/// The order and the augmentation of epoch `e` depend only on `(seed, e)`, never on timing, so
/// runs are reproducible. Iterating the loader again starts the next epoch.
public final class DataLoader: Sequence, @unchecked Sendable {
    public let dataset: any ImageDataset
    public let batchSize: Int
    public let shuffle: Bool
    /// `.none` (also written `nil`) for no augmentation.
    public let augmentation: Augmentation
    public let seed: UInt64
    public let dropLast: Bool
    /// The epoch the next iteration produces (0-based); settable to resume.
    public var epoch: Int = 0

    /// - Parameter augmentation: random crops and flips per example; `nil` or `.none` for none.
    /// - Throws: `.invalidArgument` when `batchSize` < 1 or the augmentation's padding is
    ///   negative or its flip probability outside [0, 1].
    public init(_ dataset: any ImageDataset, batchSize: Int, shuffle: Bool = true, augmentation: Augmentation = .none,
                seed: UInt64 = 0, dropLast: Bool = false) throws {
        let check = ArgumentCheck("DataLoader")
        try check.atLeast(1, batchSize, "batchSize")
        try check.atLeast(0, augmentation.padding, "augmentation padding")
        try check.fraction(augmentation.flipProbability, "augmentation flipProbability", includingOne: true)
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.augmentation = augmentation
        self.seed = seed
        self.dropLast = dropLast
    }

    /// Batches per epoch.
    public var batchCount: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
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
        let start = index * batchSize
        let members = Array(order[start..<Swift.min(start + batchSize, order.count)])
        let shape = dataset.exampleShape
        var images = Tensor(zeros: Shape([members.count] + shape.dimensions))
        var labels: [Int] = []
        var generator = SeededGenerator(seed: seed ^ (UInt64(epoch) << 32 | UInt64(index)) &* 0xD1B5_4A32_D192_ED03)
        for (row, member) in members.enumerated() {
            var (image, label) = try dataset.example(at: member)
            if augmentation.padding > 0 || augmentation.flipProbability > 0 { image = augmentation.apply(image, using: &generator) }
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
