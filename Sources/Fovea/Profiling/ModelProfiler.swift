import Dispatch

/// Where the time of a whole network goes: runs a model's forward pass or training step on a
/// `ProfilingDevice` and returns a `Profile`, with every operation attributed to the layer that
/// issued it, grouped by kind (each convolution algorithm and pass, batch norm, activation, add,
/// concatenation, pooling, linear, …), and the time between operations.
///
///     let model = try ModelZoo.make("resnet50")
///     let profile = try ModelProfiler.forward(model, input: Tensor.randomNormal([1, 3, 224, 224]),
///                                             device: try Devices.make("dispatch", threads: 2))
///     for row in profile.kindRows { print(row.operation, row.seconds / profile.wallSeconds) }
///
/// The numbers a profile holds are those of the device alone: the profiling device adds one
/// clock read per operation and returns the subject's results unchanged.
public enum ModelProfiler {
    /// Profiles `model`'s forward pass in evaluation mode on `input` (`[N, C, H, W]`):
    /// `warmUps` untimed runs, then `runs` timed ones.
    ///
    /// The default two warm-ups matter: the Dispatch device keeps a layer's packed or transformed
    /// weights from their second use on (`PackedWeightCache`), so with one warm-up the first timed
    /// run would pack every layer's weights again and the per-layer means would carry it (on
    /// ResNet-50 at batch 1, layer4's 3×3 convolutions showed 2.9 ms instead of 1.5).
    /// - Throws: what the model's forward throws (a wrong input shape names the layer); an
    ///   `.invalidArgument` error when `runs` is below 1 or `warmUps` below 0.
    public static func forward(_ model: Layer, input: Tensor, device: any Device, runs: Int = 3, warmUps: Int = 2) throws -> Profile {
        try check(runs: runs, warmUps: warmUps)
        model.eval()
        let profiling = ProfilingDevice(subject: device)
        for _ in 0..<warmUps { _ = try model.scopedForward(input, device: profiling) }
        profiling.log.removeAll()
        var wall = 0.0
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try model.scopedForward(input, device: profiling)
            wall += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        let perRun = wall / Double(runs)
        return Profile(mode: "forward", device: device.description, threads: device.threadCount, runs: runs, wallSeconds: perRun,
                       phases: [("forward", perRun)], records: profiling.log.all)
    }

    /// Profiles training steps of `model` on `batch` (forward, softmax cross-entropy, backward,
    /// `optimizer`'s step, as `Trainer.trainStep`): `warmUps` untimed steps, then `runs` timed
    /// ones. The steps update the model's parameters.
    /// - Throws: what a training step throws (a shape mismatch, a loss that is not finite); an
    ///   `.invalidArgument` error when `runs` is below 1 or `warmUps` below 0.
    public static func trainingStep(_ model: Layer, batch: Batch, optimizer: any Optimizer, device: any Device,
                                    runs: Int = 3, warmUps: Int = 1) throws -> Profile {
        try check(runs: runs, warmUps: warmUps)
        let profiling = ProfilingDevice(subject: device)
        let trainer = Trainer(model: model, optimizer: optimizer, device: profiling)
        for _ in 0..<warmUps { try trainer.trainStep(batch) }
        profiling.log.removeAll()
        var phases: [(name: String, seconds: Double)] = []
        for _ in 0..<runs {
            var index = 0
            _ = try trainer.trainStep(batch) { name, seconds in
                if index == phases.count { phases.append((name, 0)) }
                phases[index].seconds += seconds / Double(runs)
                index += 1
            }
        }
        return Profile(mode: "training step", device: device.description, threads: device.threadCount, runs: runs,
                       wallSeconds: phases.reduce(0) { $0 + $1.seconds }, phases: phases, records: profiling.log.all)
    }

    static func check(runs: Int, warmUps: Int) throws {
        guard runs >= 1 else { throw FoveaError(.invalidArgument, "ModelProfiler: runs must be at least 1, got \(runs)") }
        guard warmUps >= 0 else { throw FoveaError(.invalidArgument, "ModelProfiler: warmUps must be 0 or more, got \(warmUps)") }
    }
}
