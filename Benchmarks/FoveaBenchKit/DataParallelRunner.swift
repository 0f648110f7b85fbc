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
/// The modes take turns step by step. A step's time is the slowest rank's (ranks start each step
/// together, after a barrier);
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

    /// Runs the modes interleaved step by step (one step of each mode in turn), so that a drift
    /// of the machine's speed during the run affects every mode alike.
    public func run(_ modes: [Mode] = Mode.allCases) throws -> [Result] {
        let setups = try modes.map { try setUp($0) }
        var times = [[Double]](repeating: [], count: modes.count), exposed = times
        for step in 0..<(steps + 1) {
            for (index, setup) in setups.enumerated() {
                try world.barrier("the start of step \(step)")
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try setup.trainer.trainStep(setup.batch)
                var slowest = [Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, setup.parallel?.lastExposedSeconds ?? 0]
                try world.allreduce(&slowest, .maximum, label: "the step times")
                if step > 0 {  // the first step warms caches and plans
                    times[index].append(slowest[0])
                    exposed[index].append(slowest[1])
                }
            }
        }
        return modes.indices.map { index in
            let median = Statistics.median(times[index])
            return Result(mode: modes[index], stepMilliseconds: median * 1000, spread: Statistics.relativeSpread(times[index]),
                          exposedMilliseconds: Statistics.median(exposed[index]) * 1000, imagesPerSecond: Double(batch * world.size) / median)
        }
    }

    private struct Setup {
        let trainer: Trainer
        let parallel: DataParallel?
        let batch: Batch
    }

    private func setUp(_ mode: Mode) throws -> Setup {
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
        return Setup(trainer: trainer, parallel: parallel, batch: Batch(images: images, labels: (0..<batch).map { ($0 * 3 + world.rank) % 10 }))
    }
}
