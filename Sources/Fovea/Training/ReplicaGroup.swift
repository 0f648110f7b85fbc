/// The replicas of one model that train together, each on its part of every batch: the
/// processes of a data-parallel job (`Communicator` in FoveaDistributed conforms).
///
/// Fovea's core needs only a sum over the replicas from it: synchronized batch norm
/// (`BatchNorm2D.replicaGroup`) sums its per-channel statistics with it.
public protocol ReplicaGroup: AnyObject {
    /// The number of replicas.
    var replicaCount: Int { get }

    /// Replaces `values` on every replica by the element-wise sum of all replicas' `values`.
    /// Every replica calls it at the same point of the same computation with the same count;
    /// `label` names what is summed, for errors.
    func sumOverReplicas(_ values: inout [Double], label: String) throws
}

/// Takes part in every step of a `Trainer` whose model is one replica of several (data
/// parallelism; `DataParallel` in FoveaDistributed conforms): the trainer scales the loss
/// gradient by the replica's share of the global batch before backward, and lets the
/// synchronizer combine the replicas' gradients after it, before the optimizer step.
///
/// With `share` = local images ÷ global images, each replica's backward computes its part of
/// the gradient of the mean loss over the global batch, so the gradients' *sum* over replicas is
/// exactly the gradient one process computes on the whole batch — also when replicas hold
/// different numbers of images, and through synchronized batch norm.
public protocol GradientSynchronizer: AnyObject {
    /// Called after the loss of a step on this replica's `localImages` images; returns `share`.
    func beginBackward(localImages: Int) throws -> Float

    /// Called after backward: when it returns, every trainable parameter's gradient is the sum
    /// over replicas.
    func finishBackward() throws
}
