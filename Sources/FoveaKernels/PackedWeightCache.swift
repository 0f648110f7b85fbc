import FoveaCore

/// Convolution weights prepared for a kernel — packed in the GEMM's A layout, or Winograd-transformed
/// filters — kept across calls while the weight tensor is unchanged (`Tensor.contentStamp`), as
/// inference engines prepare constant weights once. `Key.kernel` names the preparation.
///
/// A packing is kept the *second* time the same contents are packed for the same layer shape and
/// kernel: inference calls a layer with the same weights again and again and packs only twice;
/// training changes the weights every step, so its packings are never stored (no copies, no
/// eviction churn). Entries are dropped oldest-used first beyond `limitBytes`, and the entries of
/// a tensor's older contents are dropped when its new contents are stored. Thread-safe; the returned tensors are
/// immutable values, so an entry evicted while a call uses it stays alive for that call.
package final class PackedWeightCache: Sendable {
    package struct Key: Hashable, Sendable {
        package var contents: ContentStamp
        /// The contents of the per-output-channel scale applied while preparing (a folded batch
        /// norm's, `conv2dForward(…outputScale:…)`), or nil for the weight as it is.
        package var scale: ContentStamp?
        package var kernel: String
        package var rows: Int, depth: Int, groups: Int

        package init(contents: ContentStamp, scale: ContentStamp? = nil, kernel: String, rows: Int, depth: Int, groups: Int) {
            (self.contents, self.scale, self.kernel, self.rows, self.depth, self.groups) = (contents, scale, kernel, rows, depth, groups)
        }

        /// Whether `other` prepares other contents of the same weight tensor (an older version,
        /// or the same weight with another scale).
        func isSuperseded(by other: Key) -> Bool {
            contents.identity == other.contents.identity && (contents.version != other.contents.version || scale != other.scale)
        }
    }

    /// The process-wide cache the backends use (256 MiB).
    package static let shared = PackedWeightCache(limitBytes: 256 << 20)

    package let limitBytes: Int

    private struct Entry {
        var packed: Tensor
        var lastUse: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        /// Keys packed once, not stored yet (bounded: cleared when it grows past 4096).
        var seen: Set<Key> = []
        var bytes = 0
        var clock: UInt64 = 0
    }

    private let state = Lock(State())

    package init(limitBytes: Int) { self.limitBytes = limitBytes }

    /// The stored packing for `key`, if any.
    package func lookup(_ key: Key) -> Tensor? {
        state.withLock { state in
            guard var entry = state.entries[key] else { return nil }
            state.clock += 1
            entry.lastUse = state.clock
            state.entries[key] = entry
            return entry.packed
        }
    }

    /// Records that `key` was packed; true when this is its second time and a packing of `bytes`
    /// fits, i.e. when the caller should pack into a tensor and `store` it.
    package func shouldStore(_ key: Key, bytes: Int) -> Bool {
        guard bytes <= limitBytes else { return false }
        return state.withLock { state in
            if state.seen.remove(key) != nil { return true }
            if state.seen.count >= 4096 { state.seen.removeAll() }
            state.seen.insert(key)
            return false
        }
    }

    /// Stores `packed` for `key`, dropping the entries of the same tensor's older contents or other
    /// scales (other preparations of the current contents stay) and evicting the least recently used entries
    /// beyond the limit.
    package func store(_ packed: Tensor, for key: Key) {
        let bytes = packed.shape.count * MemoryLayout<Float>.stride
        state.withLock { state in
            for old in state.entries.keys where old.isSuperseded(by: key) {
                state.bytes -= state.entries.removeValue(forKey: old)!.packed.shape.count * MemoryLayout<Float>.stride
            }
            if let previous = state.entries[key] { state.bytes -= previous.packed.shape.count * MemoryLayout<Float>.stride }
            state.clock += 1
            state.entries[key] = Entry(packed: packed, lastUse: state.clock)
            state.bytes += bytes
            while state.bytes > limitBytes, let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                state.bytes -= oldest.value.packed.shape.count * MemoryLayout<Float>.stride
                state.entries.removeValue(forKey: oldest.key)
            }
        }
    }

    /// Bytes of the stored packings.
    package var storedBytes: Int { state.withLock { $0.bytes } }

    /// Drops every entry.
    package func removeAll() {
        state.withLock { state in
            state.entries.removeAll()
            state.seen.removeAll()
            state.bytes = 0
        }
    }
}
