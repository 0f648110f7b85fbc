import Dispatch
import Synchronization

/// A raw pointer that may cross into `@Sendable` closures. Whoever creates one promises that
/// concurrent users write disjoint elements.
public struct SendablePointer<Pointee>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Pointee>
    public init(_ pointer: UnsafeMutablePointer<Pointee>) { self.pointer = pointer }
    public init(_ pointer: UnsafePointer<Pointee>) { self.pointer = UnsafeMutablePointer(mutating: pointer) }
}

/// Parallel loops on Fovea's worker threads (`WorkerPool`).
public enum Parallel {
    /// Runs `body(worker, item)` once for every `item` in `0..<count`, on at most `threads`
    /// workers: the calling thread and helper threads of `WorkerPool.shared`, which stay awake for
    /// `FOVEA_SPIN_US` after a loop so that the next one starts at once (a loop started while
    /// another runs, e.g. nested in one, runs on `DispatchQueue.concurrentPerform`). Items are
    /// handed out dynamically (an atomic counter), so uneven items balance; `worker` in
    /// `0..<min(threads, count)` identifies the calling worker, for per-worker scratch memory, and
    /// no two workers running at once share one. With `threads <= 1` everything runs inline.
    ///
    /// Results do not depend on which worker runs an item as long as items write disjoint memory.
    public static func forEach(
        _ count: Int, threads: Int, _ body: @Sendable (_ worker: Int, _ item: Int) -> Void
    ) {
        guard count > 0 else { return }
        let workers = min(max(threads, 1), count)
        if workers == 1 {
            for item in 0..<count { body(0, item) }
            return
        }
        WorkerPool.shared.forEach(count, workers: workers, body)
    }
}

extension Tensor {
    /// Runs `body` with pointers to the elements of `a` and `b` (read) and of `output` (written)
    /// that parallel workers may share.
    package static func withSendablePointers<R>(
        reading a: Tensor, _ b: Tensor, writing output: inout Tensor,
        _ body: (SendablePointer<Float>, SendablePointer<Float>, SendablePointer<Float>) throws -> R
    ) rethrows -> R {
        try a.withUnsafeBufferPointer { a in
            try b.withUnsafeBufferPointer { b in
                try output.withUnsafeMutableBufferPointer { output in
                    try body(SendablePointer(a.baseAddress!), SendablePointer(b.baseAddress!), SendablePointer(output.baseAddress!))
                }
            }
        }
    }
}

extension Tensor {
    /// Runs `body` with pointers to the elements of each of `tensors` (read), in order.
    package static func withPointers<R>(to tensors: [Tensor], _ body: ([UnsafePointer<Float>]) throws -> R) rethrows -> R {
        func nest(_ index: Int, _ pointers: [UnsafePointer<Float>]) throws -> R {
            guard index < tensors.count else { return try body(pointers) }
            return try tensors[index].withUnsafeBufferPointer { try nest(index + 1, pointers + [$0.baseAddress!]) }
        }
        return try nest(0, [])
    }

    /// Runs `body` with a pointer to the elements of `tensor`, or nil when there is none (an
    /// optional operand such as a residual).
    package static func withOptionalPointer<R>(_ tensor: Tensor?, _ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
        guard let tensor else { return try body(nil) }
        return try tensor.withUnsafeBufferPointer { try body($0.baseAddress) }
    }

    /// Runs `body` with a mutable pointer to the elements of `tensor`, or nil when there is none
    /// (an optional result such as a kept intermediate).
    package static func withOptionalMutablePointer<R>(_ tensor: inout Tensor?, _ body: (UnsafeMutablePointer<Float>?) throws -> R) rethrows -> R {
        guard tensor != nil else { return try body(nil) }
        return try tensor!.withUnsafeMutableBufferPointer { try body($0.baseAddress) }
    }
}
