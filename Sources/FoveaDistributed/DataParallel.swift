import Dispatch
import Fovea
import Foundation

/// Data-parallel training: one replica of the model per process, each on its part of every
/// batch, their gradients summed across processes before each optimizer step, so that N
/// processes train the model one process would train on the whole batch (PyTorch's
/// DistributedDataParallel, Horovod).
///
///     let world = try Communicator.world()
///     let parallel = try DataParallel(model: model, communicator: world)   // rank 0's weights everywhere
///     let trainer = Trainer(model: model, optimizer: optimizer)
///     trainer.gradientSynchronizer = parallel
///     let loader = try DataLoader(data, batchSize: 32, seed: 7, shard: try DatasetShard(index: world.rank, count: world.size))
///
/// **At the start** every parameter and buffer is copied from rank 0, and a fingerprint of the
/// state is compared across ranks; the dropout layers of ranks other than 0 are reseeded so that
/// each rank draws its own masks.
///
/// **Each step** (`GradientSynchronizer`): the trainer scales the loss gradient by this rank's
/// share of the global batch (local ÷ global images; one small allreduce finds the global
/// count). Trainable parameters are grouped in buckets in reverse forward order — the order in
/// which backward produces their gradients — of about `bucketBytes` (`FOVEA_BUCKET_MB`, default
/// 25 MiB), the first of at most `firstBucketBytes` (1 MiB) so that communication starts early.
/// When backward has accumulated the gradient of every parameter of a bucket (the parameters'
/// `afterGradientAccumulation` hook), the bucket is copied to a flat buffer and its allreduce
/// started without waiting; buckets are started in order on every rank. Open MPI 4.1 advances a
/// started collective only inside MPI calls, so each later gradient tests the ones in flight
/// (`progress: .polling`), or a progress thread does (`.thread(interval:)`).
/// `finishBackward` starts what is left, waits, and writes the sums back as the gradients.
///
/// A job of one rank leaves the gradients as they are (no buckets, no hooks, no collectives).
/// A parameter with no gradient in a step contributes zeros and receives the other ranks' sum.
/// A parameter whose gradient is accumulated again after its bucket was sent (one parameter used
/// twice in a forward) is an error.
public final class DataParallel: GradientSynchronizer {
    public let model: Layer
    public let communicator: Communicator
    /// Bucket capacity in bytes, and that of the first bucket.
    public let bucketBytes: Int, firstBucketBytes: Int
    /// Start each bucket's allreduce during backward (true, the default), or all of them after
    /// backward (false; for measuring what the overlap buys).
    public var overlapsWithBackward: Bool

    /// How started allreduces advance while backward computes (Open MPI 4.1 advances them only
    /// inside MPI calls).
    public enum CommunicationProgress: Sendable, Equatable {
        /// `MPI_Test` on the buckets in flight after each gradient, in the training thread.
        case polling
        /// A thread of its own tests the buckets in flight every `interval` seconds.
        case thread(interval: Double)
    }
    public let progress: CommunicationProgress
    /// The thread of `progress: .thread`, started once the rest of `init` has succeeded.
    private var progressThread: ProgressThread?

    /// Seconds the last `finishBackward` spent starting the remaining buckets and waiting for
    /// all allreduces: the communication backward did not hide.
    public private(set) var lastExposedSeconds: Double = 0

    private var buckets: [GradientBucket] = []
    /// Which bucket, and which slot in it, each trainable parameter fills.
    private var slots: [ObjectIdentifier: (bucket: Int, slot: Int)] = [:]
    /// The trainable parameters the buckets were built for, to rebuild them after a freeze.
    private var bucketedParameters: [ObjectIdentifier] = []
    /// The next bucket to start (buckets start in order).
    private var nextBucket = 0
    /// A problem found inside a gradient hook, thrown by `finishBackward`.
    private var hookError: (any Error)?

    /// The bytes of a bucket when neither `bucketBytes` nor `FOVEA_BUCKET_MB` says.
    public static let defaultBucketBytes = 25 << 20

    /// Copies rank 0's parameters and buffers to every rank and prepares the buckets.
    /// - Throws: `.distributed` when a collective fails, or when the ranks' states still differ
    ///   after the copy; `.invalidArgument` for a bucket size below 1 byte or an invalid
    ///   `FOVEA_BUCKET_MB`.
    public init(model: Layer, communicator: Communicator, bucketBytes: Int? = nil, firstBucketBytes: Int = 1 << 20,
                overlapsWithBackward: Bool = true, progress: CommunicationProgress = .polling,
                environment: [String: String] = FoveaEnvironment.process) throws {
        let environmentBytes = try FoveaEnvironment.bucketSize.wholeNumber(FoveaEnvironment.bucketSize.text(in: environment)).map { $0 << 20 }
        self.model = model
        self.communicator = communicator
        self.bucketBytes = bucketBytes ?? environmentBytes ?? Self.defaultBucketBytes
        self.firstBucketBytes = firstBucketBytes
        self.overlapsWithBackward = overlapsWithBackward
        self.progress = progress
        let check = ArgumentCheck("DataParallel")
        try check.atLeast(1, self.bucketBytes, "bucketBytes")
        try check.atLeast(1, firstBucketBytes, "firstBucketBytes")
        if case .thread(let interval) = progress {
            try check.require(interval > 0 && interval <= 1, "progress thread interval", mustBe: "above 0 and at most 1 second", got: interval)
        }
        try broadcastState(from: 0)
        decorrelateDropout()
        if communicator.size > 1 { rebuildBucketsIfNeeded() }
        if case .thread(let interval) = progress { progressThread = ProgressThread(interval: interval) }
    }

    /// Gives every rank but 0 its own dropout masks: each `Dropout`'s generator is reseeded from
    /// its state and the rank, so the ranks do not drop the same units of their different images
    /// (rank 0 keeps the masks a single process would draw).
    private func decorrelateDropout() {
        guard communicator.rank > 0 else { return }
        for (_, layer) in model.namedLayers() {
            guard let dropout = layer as? Dropout else { continue }
            let words = dropout.generatorState
            dropout.reseed(words.reduce(UInt64(communicator.rank) &* 0x9E37_79B9_7F4A_7C15) { ($0 ^ $1) &* 0xBF58_476D_1CE4_E5B9 })
        }
    }

    deinit {
        progressThread?.stop()
        for bucket in buckets { for parameter in bucket.parameters { parameter.afterGradientAccumulation = nil } }
    }

    // MARK: State

    /// Copies `root`'s parameters and buffers into every rank's model, then checks that every
    /// rank holds the same state (`StateFingerprint`). First checks that every rank has the
    /// same architecture (the same parameter and buffer names and shapes), so that a job whose
    /// ranks built different models fails with an error rather than a mismatched broadcast.
    public func broadcastState(from root: Int = 0) throws {
        try communicator.checkSameOnEveryRank(StateFingerprint.ofArchitecture(model), what: "the model's parameter and buffer names and shapes")
        for (name, parameter) in model.namedParameters() {
            var value = parameter.value
            try communicator.broadcast(&value, from: root, label: "parameter \(name)")
            parameter.value = value
        }
        try broadcastBuffers(from: root)
        try checkIdenticalState()
    }

    /// Copies `root`'s buffers (batch norm's running statistics) to every rank: with per-replica
    /// batch norm each rank's running statistics follow its own images, and the model rank 0
    /// evaluates and saves is rank 0's (as PyTorch DDP's `broadcast_buffers`).
    public func broadcastBuffers(from root: Int = 0) throws {
        for (name, buffer) in model.namedBuffers() {
            var value = buffer.value
            try communicator.broadcast(&value, from: root, label: "buffer \(name)")
            buffer.value = value
        }
    }

    /// Throws unless every rank's parameters and buffers are bit-identical.
    public func checkIdenticalState() throws {
        try communicator.checkSameOnEveryRank(StateFingerprint.of(model), what: "the model's parameters and buffers")
    }

    // MARK: GradientSynchronizer

    public func beginBackward(localImages: Int) throws -> Float {
        guard communicator.size > 1 else { return 1 }  // one rank: its gradients are the sum
        rebuildBucketsIfNeeded()
        for bucket in buckets { bucket.reset() }
        nextBucket = 0
        hookError = nil
        var images = [Double(localImages)]
        try communicator.allreduce(&images, .sum, label: "the images of the step")
        return images[0] > 0 ? Float(Double(localImages) / images[0]) : 0
    }

    public func finishBackward() throws {
        guard communicator.size > 1 else { return }
        if let hookError { throw hookError }
        let start = DispatchTime.now().uptimeNanoseconds
        while nextBucket < buckets.count { try self.start(buckets[nextBucket]) }
        for bucket in buckets { try bucket.pending?.waitAll() }
        lastExposedSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        for bucket in buckets { bucket.scatter() }
    }

    // MARK: Buckets

    /// The trainable parameters in the order backward produces their gradients.
    private func trainableParameters() -> [Parameter] {
        model.allParameters.filter { !$0.isFrozen }.reversed()
    }

    private func rebuildBucketsIfNeeded() {
        let parameters = trainableParameters()
        let identities = parameters.map(ObjectIdentifier.init)
        guard identities != bucketedParameters else { return }
        for bucket in buckets { for parameter in bucket.parameters { parameter.afterGradientAccumulation = nil } }
        buckets = []
        slots = [:]
        var current: [Parameter] = [], bytes = 0
        func close() {
            guard !current.isEmpty else { return }
            buckets.append(GradientBucket(index: buckets.count, parameters: current))
            current = []
            bytes = 0
        }
        for parameter in parameters {
            let size = parameter.value.count * MemoryLayout<Float>.size
            let capacity = buckets.isEmpty ? firstBucketBytes : bucketBytes
            if !current.isEmpty && bytes + size > capacity { close() }
            current.append(parameter)
            bytes += size
        }
        close()
        for bucket in buckets {
            for (slot, parameter) in bucket.parameters.enumerated() {
                slots[ObjectIdentifier(parameter)] = (bucket.index, slot)
                parameter.afterGradientAccumulation = { [unowned self] in self.gradientAccumulated($0) }
            }
        }
        bucketedParameters = identities
    }

    /// The hook: counts the parameter's bucket as one gradient fuller, starts every bucket that
    /// is complete and next in order, and lets MPI advance the ones in flight.
    private func gradientAccumulated(_ parameter: Parameter) {
        guard hookError == nil, let place = slots[ObjectIdentifier(parameter)] else { return }
        let bucket = buckets[place.bucket]
        guard bucket.pending == nil else {
            let name = model.namedParameters().first { $0.parameter === parameter }?.name ?? "a parameter"
            hookError = FoveaError(.distributed, "\(communicator.name): \(name) received a gradient after \(bucket.label) was sent; a parameter used more than once in one forward pass is not supported by DataParallel")
            return
        }
        bucket.markReady(place.slot)
        guard overlapsWithBackward else { return }
        do {
            while nextBucket < buckets.count, buckets[nextBucket].isComplete { try start(buckets[nextBucket]) }
            guard progress == .polling else { return }
            for started in buckets[..<nextBucket] { _ = try started.pending?.last?.isComplete() }
        } catch {
            hookError = error
        }
    }

    private func start(_ bucket: GradientBucket) throws {
        bucket.gather()
        bucket.pending = try communicator.startAllreduce(UnsafeMutableBufferPointer(rebasing: bucket.storage[0..<bucket.count]), .sum,
                                                         label: bucket.label, keepingAlive: bucket)
        progressThread?.watch(bucket.pending!)
        nextBucket = bucket.index + 1
    }

    /// The buckets' sizes in parameters and bytes, first to last (for logs and tests); none in a
    /// job of one rank.
    public var bucketSizes: [(parameters: Int, bytes: Int)] {
        guard communicator.size > 1 else { return [] }
        rebuildBucketsIfNeeded()
        return buckets.map { ($0.parameters.count, $0.count * MemoryLayout<Float>.size) }
    }
}
