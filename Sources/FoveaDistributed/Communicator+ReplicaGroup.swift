import Fovea

/// The processes of a job as the replica group of synchronized batch norm
/// (`model.synchronizeBatchNorm(over: world)`).
extension Communicator: ReplicaGroup {
    public var replicaCount: Int { size }

    public func sumOverReplicas(_ values: inout [Double], label: String) throws {
        try allreduce(&values, .sum, label: label)
    }
}
