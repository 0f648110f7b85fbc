import Fovea
import Testing

@Suite("Data loader")
struct DataLoaderTests {
    /// A dataset whose image i is filled with the value i, so batches reveal their members.
    static func numbered(_ count: Int) throws -> MNISTDataset {
        var images = Tensor(zeros: [count, 1, 4, 4])
        images.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] = Float(i / 16) } }
        return try MNISTDataset(images: images, labels: (0..<count).map { $0 % 10 }, classNames: MNISTDataset.fashionClassNames)
    }

    static func members(_ batch: Batch) -> [Int] { (0..<batch.labels.count).map { Int(batch.images[$0, 0, 1, 1]) } }

    @Test func everyExampleOncePerEpochInASeededOrder() throws {
        let loader = try DataLoader(Self.numbered(23), batchSize: 5, shuffle: true, seed: 3)
        #expect(loader.batchCount == 5)
        let first = loader.flatMap(Self.members)
        let second = loader.flatMap(Self.members)
        #expect(first.sorted() == Array(0..<23) && second.sorted() == Array(0..<23))
        #expect(first != second)  // a new order each epoch
        let again = try DataLoader(Self.numbered(23), batchSize: 5, shuffle: true, seed: 3)
        #expect(again.flatMap(Self.members) == first)  // the same seed gives the same order
        let labels = try DataLoader(Self.numbered(23), batchSize: 5, shuffle: true, seed: 3).flatMap(\.labels)
        #expect(labels == first.map { $0 % 10 })  // labels travel with their images
    }

    @Test func unshuffledAndDropLast() throws {
        let loader = try DataLoader(Self.numbered(7), batchSize: 3, shuffle: false, dropLast: true)
        #expect(loader.map(Self.members) == [[0, 1, 2], [3, 4, 5]])
    }

    @Test func augmentationIsDeterministicAndPreservesShape() throws {
        let data = try MNISTDataset(images: Tensor.randomUniform([6, 1, 8, 8], seed: 1), labels: Array(0..<6), classNames: MNISTDataset.fashionClassNames)
        let a = try DataLoader(data, batchSize: 3, augmentation: Augmentation(padding: 2, flipProbability: 0.5), seed: 9)
        let b = try DataLoader(data, batchSize: 3, augmentation: Augmentation(padding: 2, flipProbability: 0.5), seed: 9)
        let batchesA = Array(a), batchesB = Array(b)
        #expect(zip(batchesA, batchesB).allSatisfy { $0.images.scalars == $1.images.scalars })
        #expect(batchesA[0].images.shape == [3, 1, 8, 8])
        let plain = try DataLoader(data, batchSize: 3, seed: 9)
        #expect(zip(batchesA, Array(plain)).contains { $0.images.scalars != $1.images.scalars })
    }
}
