import Fovea
import FoveaDistributed
import Foundation

/// Times data-parallel training steps on every rank of an MPI job (`mpirun -np N fovea-bench
/// data-parallel …`), in three ways on the same model and data:
/// - `compute only`: each rank trains alone (no gradient exchange) — the floor;
/// - `after backward`: every bucket's allreduce started after backward (`overlapsWithBackward`
///   false);
/// - `overlapped, polling`: each bucket started as soon as backward has filled it, advanced by
///   `MPI_Test` after each later gradient (the default);
/// - `overlapped, progress thread`: the same, advanced by a thread testing every 100 µs.
/// A step's time is the slowest rank's (ranks start each step together, after a barrier);
/// `exposed` is the time `finishBackward` waited for communication backward did not hide.
public struct DataParallelRunner {
    public enum Mode: String, CaseIterable, Sendable {
        case computeOnly = "compute only", afterBackward = "after backward", overlapped = "overlapped, polling"
        case overlappedThread = "overlapped, progress thread"
    }

    public struct Result: Sendable {
        public var mode: Mode
        public var stepMilliseconds: Double
        public var spread: Double
        public var exposedMilliseconds: Double
        public var imagesPerSecond: Double
    }

    public let world: Communicator
    public let model: String
    public let batch: Int
    public let inputSize: Int?
    public let steps: Int
    public let synchronizedBatchNorm: Bool
    public let device: any Device

    public init(world: Communicator, model: String, batch: Int, inputSize: Int?, steps: Int, synchronizedBatchNorm: Bool, device: any Device) {
        self.world = world
        self.model = model
        self.batch = batch
        self.inputSize = inputSize
        self.steps = steps
        self.synchronizedBatchNorm = synchronizedBatchNorm
        self.device = device
    }

    public func run(_ modes: [Mode] = Mode.allCases) throws -> [Result] {
        try modes.map { try run($0) }
    }

    private func run(_ mode: Mode) throws -> Result {
        let defaults = try BuiltInModels.defaults(for: model)
        let size = inputSize ?? defaults.inputShape[2]
        let network = try BuiltInModels.make(model, classes: 10, seed: 1)
        let shape: Shape = [batch, defaults.inputShape[1], size, size]
        try network.build(inputShape: shape)
        let trainer = Trainer(model: network, optimizer: try SGD(network.allParameters, learningRate: 0.01, momentum: 0.9), device: device)
        var parallel: DataParallel?
        if mode != .computeOnly {
            parallel = try DataParallel(model: network, communicator: world, overlapsWithBackward: mode != .afterBackward,
                                        progress: mode == .overlappedThread ? .thread(interval: 1e-4) : .polling)
            trainer.gradientSynchronizer = parallel
            if synchronizedBatchNorm { network.synchronizeBatchNorm(over: world) }
        }
        let images = Tensor.randomNormal(shape, seed: UInt64(17 + world.rank))
        let batchData = Batch(images: images, labels: (0..<batch).map { ($0 * 3 + world.rank) % 10 })
        var times: [Double] = [], exposed: [Double] = []
        for step in 0..<(steps + 1) {
            try world.barrier("the start of step \(step)")
            let start = ContinuousClock.now
            _ = try trainer.trainStep(batchData)
            let elapsed = ContinuousClock.now - start
            var slowest = [Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18, parallel?.lastExposedSeconds ?? 0]
            try world.allreduce(&slowest, .maximum, label: "the step times")
            if step > 0 {  // the first step warms caches and plans
                times.append(slowest[0])
                exposed.append(slowest[1])
            }
        }
        let median = Statistics.median(times)
        return Result(mode: mode, stepMilliseconds: median * 1000, spread: Statistics.relativeSpread(times),
                      exposedMilliseconds: Statistics.median(exposed) * 1000, imagesPerSecond: Double(batch * world.size) / median)
    }
}
