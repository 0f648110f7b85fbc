import Foundation
import Fovea

/// Times whole networks (zoo networks at 224×224, the small models at 28×28): forward in
/// evaluation mode, and one training step
/// (forward, softmax cross-entropy, backward, SGD with momentum) in training mode, per backend,
/// with the process's peak resident memory after each.
public struct NetworkRunner {
    public var networks: [String]
    public var batches: [Int]
    public var threads: [Int]
    public var engines: [String]
    public var runs: Int
    public var trainStep: Bool
    public var peak: MachinePeak
    public var progress: (String) -> Void
    /// Also time the forward pass with layer fusion off (`LayerFusion.withoutFusion`), run by run
    /// interleaved with the fused one, reported as engine "<engine>-unfused".
    public var compareFusion = false

    public init(networks: [String], batches: [Int], threads: [Int], engines: [String], runs: Int, trainStep: Bool,
                peak: MachinePeak, progress: @escaping (String) -> Void) {
        self.networks = networks
        self.batches = batches
        self.threads = threads
        self.engines = engines
        self.runs = runs
        self.trainStep = trainStep
        self.peak = peak
        self.progress = progress
    }

    /// VmHWM of /proc/self/status: the peak resident set size, in bytes.
    public static func peakResidentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kilobytes = line.split(separator: " ").compactMap { Int($0) }.first
            return kilobytes.map { $0 * 1024 }
        }
        return nil
    }

    /// The built-in model `name` (a zoo network, or a small model such as cnn-bn), the shape of
    /// one of its input images ([3, 224, 224] for the zoo, [1, 28, 28] for the small models) and
    /// its number of classes.
    static func network(_ name: String) throws -> (model: Layer, example: Shape, classes: Int) {
        let defaults = try BuiltInModels.defaults(for: name)
        return (try BuiltInModels.make(name), Shape(Array(defaults.inputShape.dimensions.dropFirst())), defaults.classes)
    }

    public func run() throws -> [NetworkResult] {
        var results: [NetworkResult] = []
        for name in networks {
            let (model, example, classes) = try Self.network(name)
            progress("\(name) built; peak RSS so far \((Self.peakResidentBytes() ?? 0) >> 20) MiB")
            for batch in batches {
                let input = Tensor.randomNormal(Shape([batch] + example.dimensions), seed: 7)
                let labels = (0..<batch).map { $0 % classes }
                for count in threads {
                    for engine in engines {
                        let device = try Devices.make(engine, threads: count)
                        progress("\(name) · \(engine) · batch \(batch) · \(count) thread\(count == 1 ? "" : "s")")
                        model.eval()
                        let forward: [Double]
                        if compareFusion {
                            let (fused, unfused) = try timeInterleaved(
                                { _ = try LayerFusion.withFusion { try model.forward(input, device: device) } },
                                { _ = try LayerFusion.withoutFusion { try model.forward(input, device: device) } })
                            forward = fused
                            results.append(NetworkResult(network: name, mode: "forward", engine: engine + "-unfused", batch: batch, threads: count,
                                                         runs: unfused.count, imagesPerSecond: Double(batch) / Statistics.median(unfused),
                                                         medianMilliseconds: Statistics.median(unfused) * 1e3, peakResidentBytes: nil))
                        } else {
                            forward = try time { _ = try model.forward(input, device: device) }
                        }
                        results.append(NetworkResult(network: name, mode: "forward", engine: engine, batch: batch, threads: count,
                                                     runs: forward.count, imagesPerSecond: Double(batch) / Statistics.median(forward),
                                                     medianMilliseconds: Statistics.median(forward) * 1e3, peakResidentBytes: Self.peakResidentBytes()))
                        guard trainStep else { continue }
                        model.train()
                        let optimizer = try SGD(model.allParameters, learningRate: 1e-4, momentum: 0.9)
                        let trainer = Trainer(model: model, optimizer: optimizer, device: device)
                        let step = try time { try trainer.trainStep(Batch(images: input, labels: labels)) }
                        model.zeroGradients()
                        results.append(NetworkResult(network: name, mode: "train-step", engine: engine, batch: batch, threads: count,
                                                     runs: step.count, imagesPerSecond: Double(batch) / Statistics.median(step),
                                                     medianMilliseconds: Statistics.median(step) * 1e3, peakResidentBytes: Self.peakResidentBytes()))
                    }
                }
            }
        }
        return results
    }

    /// Profiles every network, batch and engine (`ModelProfiler`): the forward pass and, with
    /// `trainStep`, the training step, each at every thread count, one report per (network,
    /// batch, engine, mode) with the thread counts side by side. Each profile waits for a quiet
    /// machine first, then runs `ModelProfiler`'s default warm-ups (two for the forward pass, so that
    /// prepared weights are kept before timing; one training step) and `runs` timed runs.
    public func profile() throws -> [NetworkProfileReport] {
        var reports: [NetworkProfileReport] = []
        for name in networks {
            let (model, example, classes) = try Self.network(name)
            for batch in batches {
                let input = Tensor.randomNormal(Shape([batch] + example.dimensions), seed: 7)
                let labels = (0..<batch).map { $0 % classes }
                for engine in engines {
                    let devices = try threads.map { try Devices.make(engine, threads: $0) }
                    var forward: [Profile] = [], training: [Profile] = []
                    for device in devices {
                        progress("profiling \(name) · \(engine) · batch \(batch) · \(device.threadCount) thread\(device.threadCount == 1 ? "" : "s")")
                        peak.waitUntilQuiet(threads: threads.max() ?? 1)
                        forward.append(try ModelProfiler.forward(model, input: input, device: device, runs: runs))
                        guard trainStep else { continue }
                        let optimizer = try SGD(model.allParameters, learningRate: 1e-4, momentum: 0.9)
                        peak.waitUntilQuiet(threads: threads.max() ?? 1)
                        training.append(try ModelProfiler.trainingStep(model, batch: Batch(images: input, labels: labels),
                                                                       optimizer: optimizer, device: device, runs: runs))
                        model.zeroGradients()
                    }
                    for profiles in [forward, training] where !profiles.isEmpty {
                        reports.append(NetworkProfileReport(network: name, engine: engine, batch: batch, profiles: profiles, peakPerCore: peak.perCore))
                    }
                }
            }
        }
        return reports
    }

    /// `LayerRunner.warmUps` warm-up calls of each, then `runs` rounds timing `a` then `b`, each gated on a quiet machine.
    func timeInterleaved(_ a: () throws -> Void, _ b: () throws -> Void) throws -> ([Double], [Double]) {
        for _ in 0..<LayerRunner.warmUps {
            try a()
            try b()
        }
        func seconds(_ body: () throws -> Void) throws -> Double {
            peak.waitUntilQuiet(threads: threads.max() ?? 1)
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        var times: ([Double], [Double]) = ([], [])
        for _ in 0..<runs {
            times.0.append(try seconds(a))
            times.1.append(try seconds(b))
        }
        return times
    }

    /// `LayerRunner.warmUps` warm-up calls, then `runs` timed calls, each gated on a quiet machine.
    func time(_ body: () throws -> Void) throws -> [Double] {
        for _ in 0..<LayerRunner.warmUps { try body() }
        var times: [Double] = []
        for _ in 0..<runs {
            peak.waitUntilQuiet(threads: threads.max() ?? 1)
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return times
    }
}
