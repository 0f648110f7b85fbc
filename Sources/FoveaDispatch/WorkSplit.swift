import FoveaCore

/// How the Dispatch device cuts its memory-bound operations (pooling, activations, element-wise)
/// into items for `Parallel.forEach`. A split decides only which worker computes an element,
/// never the order in which that element is reduced, so results are bit-identical at any thread
/// count.
enum WorkSplit {
    /// Items of about four per worker, never shorter than this many elements (smaller tensors
    /// run inline: spreading them over threads costs more than it saves).
    static let minimumChunk = 1 << 14

    /// Consecutive ranges covering `0..<count`: item `i` is `i·size ..< min((i+1)·size, count)`.
    struct Chunks {
        let count: Int
        let size: Int
        let items: Int

        init(count: Int, threads: Int) {
            self.count = count
            size = max(WorkSplit.minimumChunk, (count + 4 * threads - 1) / (4 * threads))
            items = (count + size - 1) / size
        }

        func range(_ item: Int) -> Range<Int> { (item * size)..<min((item + 1) * size, count) }
    }

    /// `planes` planes of `rows` output rows each, cut into items of (plane, block of rows). Planes
    /// are split into row blocks only when there are too few of them to give every worker about
    /// four items (a batch of one image with few channels).
    struct PlaneRows {
        let rows: Int
        let blocksPerPlane: Int
        let blockHeight: Int
        let items: Int

        init(planes: Int, rows: Int, threads: Int) {
            self.rows = rows
            let wanted = threads <= 1 ? 1 : (4 * threads + planes - 1) / max(planes, 1)
            blocksPerPlane = max(1, min(rows, wanted))
            blockHeight = (rows + blocksPerPlane - 1) / max(blocksPerPlane, 1)
            items = planes * blocksPerPlane
        }

        /// The plane and the output rows of `item`.
        func block(_ item: Int) -> (plane: Int, rows: Range<Int>) {
            let block = item % blocksPerPlane
            return (item / blocksPerPlane, min(block * blockHeight, rows)..<min((block + 1) * blockHeight, rows))
        }
    }
}

/// The greatest common divisor of `a` and `b`, at least 1: how many of `threads` workers can take
/// whole units of `units` evenly is `threads / greatestCommonDivisor(units, threads)` parts per unit.
func greatestCommonDivisor(_ a: Int, _ b: Int) -> Int {
    var (a, b) = (a, b)
    while b != 0 { (a, b) = (b, a % b) }
    return max(a, 1)
}
