#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A process-wide cache of large freed tensor buffers, so that a network's forward pass reuses
/// the memory of the activations it has finished with instead of asking the kernel for fresh pages
/// on every call.
///
/// Why: C's allocator serves large blocks (above its mmap threshold, at most 32 MiB in glibc) by
/// mapping fresh pages and unmaps them on `free`; every first touch of such a page is a page fault
/// plus the kernel zeroing it, which can cost as much as the convolution that fills the page
/// (Docs/Performance.md, "Reusing tensor memory").
///
/// Policy: buffers of at least `minimumBytes` (1 MiB) are cached on release, keyed by their exact
/// byte size, within `capacityBytes` (default 256 MiB; `FOVEA_TENSOR_CACHE_MB`, 0 turns caching
/// off): when a new buffer does not fit, the least recently released ones are freed to make room
/// (`BufferShelf`), so the cache follows the sizes in use now (a layer after large ones, such as
/// VGG16's, still finds its buffers; Docs/Performance.md, "Measurements behind the code"). Smaller buffers, and any larger than the capacity, go back to `free`. A request of the same size
/// takes a cached buffer (zeroed by `memset` unless the caller will overwrite every element).
/// A request that finds none frees at least as many bytes of the least recently released buffers
/// of at most 32 MiB (`BufferShelf.release(atLeast:ofAtMost:)`, `heapReuseLimit`): sizes no
/// longer asked for (another phase of the network, weights folded once) make room for the new
/// buffer instead of adding to the peak (Docs/Performance.md, "Peak memory under ONNX Runtime's").
/// Cached memory stays resident: the bound is the most the cache adds to the peak.
public enum StoragePool {
    /// Buffers smaller than this go straight to `free` (the C allocator recycles them well).
    public static let minimumBytes = 1 << 20

    /// The largest buffers a miss frees to make room: glibc keeps freed blocks up to its largest
    /// mmap threshold (32 MiB) in its heap, where `malloc` reuses them for any size without a page
    /// fault; larger ones go back to the kernel and would be faulted in again (VGG16's 51 and
    /// 102 MiB activations), so they stay cached.
    static let heapReuseLimit = 32 << 20

    /// The most bytes the cache keeps: `FOVEA_TENSOR_CACHE_MB` MiB, default 256 MiB. An invalid
    /// value stops the program with `capacity(fromEnvironmentValue:)`'s message; `Devices.fromEnvironment()`
    /// checks the variable first and throws that message instead.
    public static let capacityBytes: Int = {
        do {
            return try capacity(fromEnvironmentValue: FoveaEnvironment.tensorCache.text())
        } catch {
            fatalError("Fovea: \(error)")
        }
    }()

    /// Bytes for a `FOVEA_TENSOR_CACHE_MB` value: nil or empty → 256 MiB; a whole number of MiB
    /// from 0 (no caching) to 2²⁰ (`FoveaEnvironment.tensorCache`).
    /// - Throws: `FoveaError.invalidArgument` naming the variable and the value.
    public static func capacity(fromEnvironmentValue text: String?) throws -> Int {
        (try FoveaEnvironment.tensorCache.wholeNumber(text) ?? 256) << 20
    }

    private static let blocks = KeptBlocks(capacity: capacityBytes)

    /// A cached buffer of exactly `bytes` bytes, or nil.
    static func take(bytes: Int) -> UnsafeMutableRawPointer? {
        HeapRetention.apply()
        guard bytes >= minimumBytes else { return nil }
        return blocks.take(bytes: bytes, releasingOnMissUpTo: heapReuseLimit)
    }

    /// Keeps `buffer` (of `bytes` bytes, from `malloc`/`calloc`) for reuse, freeing older cached
    /// buffers to make room, or frees it.
    static func give(_ buffer: UnsafeMutableRawPointer, bytes: Int) {
        guard bytes >= minimumBytes else { return free(buffer) }
        blocks.keep(buffer, bytes: bytes)
    }

    /// Bytes held by the cache now.
    public static var cachedBytes: Int { blocks.bytes }

    /// Frees every cached buffer (e.g. before measuring memory, or after a large model is done).
    public static func drain() { blocks.drain() }
}

/// C-allocated blocks kept on a `BufferShelf` behind a lock, freed with `free` when the shelf lets
/// them go: the store behind `StoragePool` and `WorkspacePool`. Thread-safe; a kept block is owned
/// by the shelf, so it may cross threads.
final class KeptBlocks: @unchecked Sendable {
    private struct Block: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
    }

    private let shelf: Lock<BufferShelf<Block>>

    init(capacity: Int) { shelf = Lock(BufferShelf<Block>(capacity: capacity)) }

    /// The most recently kept block of exactly `bytes` bytes, or nil — then, with a
    /// `releasingOnMissUpTo` limit, at least `bytes` bytes of the least recently kept blocks of at
    /// most that size are freed (`BufferShelf.release(atLeast:ofAtMost:)`).
    func take(bytes: Int, releasingOnMissUpTo limit: Int? = nil) -> UnsafeMutableRawPointer? {
        let (hit, released) = shelf.withLock { shelf in
            if let block = shelf.take(bytes: bytes) { return (Optional(block), [Block]()) }
            return (nil, limit.map { shelf.release(atLeast: bytes, ofAtMost: $0) } ?? [])
        }
        for block in released { free(block.pointer) }
        return hit?.pointer
    }

    /// Keeps `buffer` of `bytes` bytes, freeing the least recently kept blocks that no longer fit
    /// beside it (or `buffer` itself, when it is larger than the capacity).
    func keep(_ buffer: UnsafeMutableRawPointer, bytes: Int) {
        let released = shelf.withLock { $0.put(Block(pointer: buffer), bytes: bytes) }
        for block in released { free(block.pointer) }
    }

    /// Bytes kept now.
    var bytes: Int { shelf.withLock { $0.bytes } }

    /// Frees every kept block.
    func drain() {
        for block in shelf.withLock({ $0.removeAll() }) { free(block.pointer) }
    }
}

/// The bookkeeping of a cache of buffers keyed by exact size within `capacity` bytes: `put` keeps
/// the newest and gives back what no longer fits (least recently put first); `take` hands out the
/// most recently put buffer of a size.
struct BufferShelf<Item> {
    let capacity: Int
    private(set) var bytes = 0
    private var items: [Int: [(item: Item, stamp: UInt64)]] = [:]
    private var clock: UInt64 = 0

    init(capacity: Int) { self.capacity = capacity }

    /// The most recently put item of exactly `bytes` bytes, removed from the shelf, or nil.
    mutating func take(bytes size: Int) -> Item? {
        guard let entry = items[size]?.popLast() else { return nil }
        bytes -= size
        return entry.item
    }

    /// Shelves `item` of `size` bytes; returns the items to release: `item` itself when it is larger
    /// than the capacity, else the least recently put items that no longer fit beside it.
    mutating func put(_ item: Item, bytes size: Int) -> [Item] {
        guard size <= capacity else { return [item] }
        let released = release(atLeast: bytes + size - capacity)
        clock += 1
        items[size, default: []].append((item, clock))
        bytes += size
        return released
    }

    /// Removes and returns the least recently put items of at most `limit` bytes each, at least
    /// `size` bytes of them (or all there are).
    mutating func release(atLeast size: Int, ofAtMost limit: Int = .max) -> [Item] {
        var released: [Item] = []
        var freed = 0
        while freed < size, let (oldestSize, _) = items.compactMap({ key, list in key > limit ? nil : list.first.map { (key, $0.stamp) } })
            .min(by: { $0.1 < $1.1 }) {
            released.append(items[oldestSize]!.removeFirst().item)
            if items[oldestSize]!.isEmpty { items[oldestSize] = nil }
            bytes -= oldestSize
            freed += oldestSize
        }
        return released
    }

    /// Removes and returns every item.
    mutating func removeAll() -> [Item] {
        let all = items.values.flatMap { $0.map(\.item) }
        items = [:]
        bytes = 0
        return all
    }
}
