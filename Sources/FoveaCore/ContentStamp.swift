/// Names a tensor's contents: equal stamps mean equal elements. Two tensors that share storage
/// have the same stamp; any mutable access (`withUnsafeMutableBufferPointer`, a subscript set)
/// gives the mutated tensor a new one. Backends use it to keep work derived from constant
/// operands, such as weights packed for a GEMM (`PackedWeightCache`), across calls.
public struct ContentStamp: Hashable, Sendable {
    /// The storage's identity, never reused in the process.
    public let identity: UInt64
    /// The storage's mutation count.
    public let version: UInt64
}

extension Tensor {
    /// The stamp of the current contents (see `ContentStamp`).
    public var contentStamp: ContentStamp { ContentStamp(identity: storage.identity, version: storage.version) }
}
