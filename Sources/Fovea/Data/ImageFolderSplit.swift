extension ImageFolderDataset {
    /// Splits the files of every class into a training part and a held-out part (as
    /// `torch.utils.data.random_split`, but per class, so each class keeps its proportion).
    ///
    /// For a class with `n ≥ 2` files, `round(fraction · n)` of them, clamped to `1…n − 1`, are
    /// held out; a class with one file keeps it for training. Which files are held out depends
    /// only on `seed`, the class index and the sorted file names — not on the file system's order
    /// — so `fovea eval` can rebuild the same split from a checkpoint. Both parts keep the files'
    /// sorted order.
    /// - Throws: `.invalidArgument` unless `0 < fraction < 1`.
    public func split(heldOutFraction fraction: Double, seed: UInt64) throws -> (train: ImageFolderDataset, heldOut: ImageFolderDataset) {
        try ArgumentCheck("ImageFolderDataset.split").require(fraction > 0 && fraction < 1, "heldOutFraction", mustBe: "in (0, 1)", got: fraction)
        var train: [Int] = [], heldOut: [Int] = []
        var byClass = [[Int]](repeating: [], count: classNames.count)
        for (index, file) in files.enumerated() { byClass[file.label].append(index) }
        for label in classNames.indices {
            var members = byClass[label]
            let count = members.count < 2 ? 0 : min(max(Int((fraction * Double(members.count)).rounded()), 1), members.count - 1)
            var generator = SeededGenerator(seed: seed &+ UInt64(label) &* 0x9E37_79B9_7F4A_7C15)
            members.shuffle(using: &generator)
            heldOut += members.prefix(count)
            train += members.dropFirst(count)
        }
        return (subset(train.sorted()), subset(heldOut.sorted()))
    }
}
