/// A labelled image collection that a `DataLoader` can batch: every example has the same
/// `[C, H, W]` shape.
public protocol ImageDataset: Sendable {
    var count: Int { get }
    /// The shape of one example, `[C, H, W]`.
    var exampleShape: Shape { get }
    var classNames: [String] { get }
    /// The example at `index`, `[C, H, W]`, and its label.
    func example(at index: Int) throws -> (image: Tensor, label: Int)
}

extension MNISTDataset: ImageDataset {
    public var exampleShape: Shape { [images.shape[1], images.shape[2], images.shape[3]] }

    public func example(at index: Int) throws -> (image: Tensor, label: Int) {
        let size = exampleShape.count
        var image = Tensor(zeros: exampleShape)
        images.withUnsafeBufferPointer { all in
            image.withUnsafeMutableBufferPointer { one in
                one.baseAddress!.update(from: all.baseAddress! + index * size, count: size)
            }
        }
        return (image, labels[index])
    }

    /// The examples at `indices` as a new dataset (e.g. a class subset or a held-out split).
    public func subset(_ indices: [Int]) -> MNISTDataset {
        let size = exampleShape.count
        var picked = Tensor(zeros: Shape([indices.count] + exampleShape.dimensions))
        images.withUnsafeBufferPointer { all in
            picked.withUnsafeMutableBufferPointer { out in
                for (row, index) in indices.enumerated() {
                    (out.baseAddress! + row * size).update(from: all.baseAddress! + index * size, count: size)
                }
            }
        }
        return MNISTDataset(checkedImages: picked, labels: indices.map { labels[$0] }, classNames: classNames)
    }

    /// Only the examples of `classes`, relabelled `0..<classes.count` in the given order, and at
    /// most `perClass` of each (the first ones): for class subsets and few-shot experiments.
    public func restricted(toClasses classes: [Int], perClass: Int? = nil) -> MNISTDataset {
        var taken = [Int: Int]()
        var indices: [Int] = []
        for (index, label) in labels.enumerated() where classes.contains(label) {
            let count = taken[label, default: 0]
            if let perClass, count >= perClass { continue }
            taken[label] = count + 1
            indices.append(index)
        }
        var result = subset(indices)
        result.labels = result.labels.map { classes.firstIndex(of: $0)! }
        result.classNames = classes.map { classNames[$0] }
        return result
    }
}
