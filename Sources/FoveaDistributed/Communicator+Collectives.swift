import CMPI
import Fovea
import Foundation

/// The blocking collectives, built on the non-blocking ones so that each waits at most `timeout`
/// seconds. Buffers longer than MPI's `Int32` counts move in several calls.
extension Communicator {
    /// The most elements one MPI call moves.
    static let largestCallCount = Int(Int32.max)

    // MARK: Allreduce

    /// Replaces `tensor` on every rank by the element-wise `operation` (default: sum) of all
    /// ranks' tensors, which must have the same number of elements.
    /// - Throws: `.distributed` naming `label`, the call and the rank.
    public func allreduce(_ tensor: inout Tensor, _ operation: ReductionOperation = .sum, label: String = "tensor") throws {
        try tensor.withUnsafeMutableBufferPointer { try allreduce($0, operation, label: label) }
    }

    /// `allreduce` of an array (the same count on every rank).
    public func allreduce<T: CollectiveScalar>(_ values: inout [T], _ operation: ReductionOperation = .sum, label: String = "values") throws {
        try values.withUnsafeMutableBufferPointer { try allreduce($0, operation, label: label) }
    }

    /// `allreduce` of memory the caller owns.
    public func allreduce<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, _ operation: ReductionOperation = .sum,
                                                label: String = "values") throws {
        try startAllreduce(buffer, operation, label: label, keepingAlive: nil).waitAll()
    }

    /// Starts an in-place allreduce of `buffer` and returns at once: the result is in `buffer`
    /// after the returned collectives complete (`waitAll()`, or `isComplete()` on each). The
    /// memory must stay valid and untouched until then; `owner`, if given, is kept alive until
    /// then. One collective per `Int32.max` values; none for an empty buffer.
    public func startAllreduce<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, _ operation: ReductionOperation = .sum,
                                                    label: String = "values", keepingAlive owner: AnyObject? = nil) throws -> [PendingCollective] {
        try chunks(of: buffer.count).map { range in
            var request: MPI_Request? = fovea_mpi_request_null()
            let operationName = "allreduce (\(operation)) of \(label)"
            let code = serialized {
                MPI_Iallreduce(fovea_mpi_in_place(), buffer.baseAddress! + range.lowerBound, Int32(range.count),
                               T.mpiDatatype, operation.mpiOperation, handle, &request)
            }
            try MPICall.check(code,
                              "MPI_Iallreduce (\(label), \(range.count) values)", rank: rank)
            return PendingCollective(request: request, operation: operationName, communicator: self, keepingAlive: owner)
        }
    }

    // MARK: Broadcast

    /// Copies `root`'s `tensor` into every rank's `tensor` (same number of elements everywhere).
    public func broadcast(_ tensor: inout Tensor, from root: Int = 0, label: String = "tensor") throws {
        try tensor.withUnsafeMutableBufferPointer { try broadcast($0, from: root, label: label) }
    }

    /// Copies `root`'s values into every rank's `buffer` (same count everywhere).
    public func broadcast<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, from root: Int = 0, label: String = "values") throws {
        try checkRoot(root, label: label)
        let pending = try chunks(of: buffer.count).map { range in
            var request: MPI_Request? = fovea_mpi_request_null()
            let code = serialized { MPI_Ibcast(buffer.baseAddress! + range.lowerBound, Int32(range.count), T.mpiDatatype, Int32(root), handle, &request) }
            try MPICall.check(code,
                              "MPI_Ibcast (\(label), \(range.count) values from rank \(root))", rank: rank)
            return PendingCollective(request: request, operation: "broadcast of \(label) from rank \(root)", communicator: self)
        }
        try pending.waitAll()
    }

    /// `root`'s bytes on every rank, whatever each rank passed (others may pass an empty `Data`):
    /// the length goes first, then the bytes. For files only one rank reads (checkpoints).
    public func broadcast(_ data: Data, from root: Int = 0, label: String = "bytes") throws -> Data {
        var length = [Int64(data.count)]
        try length.withUnsafeMutableBufferPointer { try broadcast($0, from: root, label: "the length of \(label)") }
        var bytes = rank == root ? [UInt8](data) : [UInt8](repeating: 0, count: Int(length[0]))
        try bytes.withUnsafeMutableBufferPointer { try broadcast($0, from: root, label: label) }
        return Data(bytes)
    }

    // MARK: Allgather

    /// Every rank's `values` on every rank, in rank order; the counts may differ between ranks.
    public func allgather<T: CollectiveScalar>(_ values: [T], label: String = "values") throws -> [[T]] {
        var counts = [Int64](repeating: 0, count: size)
        counts[rank] = Int64(values.count)
        try allreduce(&counts, .sum, label: "the counts of \(label)")
        let total = Int(counts.reduce(0, +))
        guard total <= Self.largestCallCount else {
            throw FoveaError(.distributed, "\(name): allgather of \(label): \(total) values in all, more than one MPI call moves (\(Self.largestCallCount))")
        }
        let sizes = counts.map { Int32($0) }
        var offsets = [Int32](repeating: 0, count: size)
        for index in 1..<max(size, 1) { offsets[index] = offsets[index - 1] + sizes[index - 1] }
        var gathered = [T](repeating: 0, count: max(total, 1))
        var request: MPI_Request? = fovea_mpi_request_null()
        try values.withUnsafeBufferPointer { send in
            try gathered.withUnsafeMutableBufferPointer { receive in
                let code = serialized {
                    MPI_Iallgatherv(send.baseAddress, Int32(values.count), T.mpiDatatype, receive.baseAddress, sizes, offsets,
                                    T.mpiDatatype, handle, &request)
                }
                try MPICall.check(code, "MPI_Iallgatherv (\(label))", rank: rank)
                try PendingCollective(request: request, operation: "allgather of \(label)", communicator: self).wait()
            }
        }
        return (0..<size).map { Array(gathered[Int(offsets[$0])..<Int(offsets[$0] + sizes[$0])]) }
    }

    // MARK: Helpers

    /// Index ranges of at most `largestCallCount` covering 0 ..< count; none for 0.
    func chunks(of count: Int) -> [Range<Int>] {
        stride(from: 0, to: count, by: Self.largestCallCount).map { $0..<min($0 + Self.largestCallCount, count) }
    }

    private func checkRoot(_ root: Int, label: String) throws {
        guard (0..<size).contains(root) else {
            throw FoveaError.invalidArgument("broadcast of \(label): root must be a rank from 0 to \(size - 1), got \(root)")
        }
    }
}
