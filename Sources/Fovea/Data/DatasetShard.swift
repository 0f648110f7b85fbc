/// One rank's part of a data-parallel job's data: rank `index` of `count` (`DataLoader(shard:)`).
public struct DatasetShard: Sendable, Hashable, CustomStringConvertible {
    /// This rank, 0 ..< `count`.
    public let index: Int
    /// The number of ranks.
    public let count: Int

    /// All of the data on one process.
    public static let whole = DatasetShard(uncheckedIndex: 0, count: 1)

    /// - Throws: `.invalidArgument` unless `count` ≥ 1 and 0 ≤ `index` < `count`.
    public init(index: Int, count: Int) throws {
        let check = ArgumentCheck("DatasetShard")
        try check.atLeast(1, count, "count")
        try check.require((0..<count).contains(index), "index", mustBe: "from 0 to \(count - 1)", got: index)
        self.init(uncheckedIndex: index, count: count)
    }

    private init(uncheckedIndex index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    public var description: String { "shard \(index) of \(count)" }
}
