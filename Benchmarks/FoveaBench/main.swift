import ArgumentParser
import Foundation
import Fovea
import FoveaBenchKit
import FoveaDistributed

/// `fovea-bench`: how fast each backend convolves, next to the machine's limit.
struct FoveaBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fovea-bench",
        abstract: "Convolution and network throughput of Fovea's backends, with the machine's peak beside them.",
        subcommands: [QuickCommand.self, LayersCommand.self, NetsCommand.self, BatchNormCommand.self, PeakCommand.self, CompareCommand.self, ChartCommand.self, ResultsCommand.self, PlansCommand.self, DataParallelCommand.self],
        defaultSubcommand: QuickCommand.self)
}

func progress(_ text: String) {
    FileHandle.standardError.write(("  " + text + "\n").data(using: .utf8)!)
}

/// The machine header, with the FMA peak measured now.
func machineInfo(threads: [Int]) -> MachineInfo {
    progress("waiting for idle threads (OpenBLAS's pool spins after loading)…")
    if !IdleThreads.wait() { progress("other threads of this process still use CPU time; timings may suffer") }
    progress("measuring the FMA peak…")
    let peak = MachinePeak.measure(threads: threads.max() ?? 1)
    let formatter = ISO8601DateFormatter()
    return MachineInfo(
        cpu: MachineInfo.cpuModel(), cores: ProcessInfo.processInfo.activeProcessorCount, threads: threads,
        openBLAS: OpenBLAS.configuration, openBLASCore: OpenBLAS.coreName, swiftVersion: MachineInfo.swiftCompilerVersion,
        buildConfiguration: MachineInfo.buildConfigurationName, microKernel: PackedGEMM.kernelDescription,
        peakPerCore: peak.perCore, peakAllCores: peak.allCores, date: formatter.string(from: Date()))
}

func printHeader(_ machine: MachineInfo) {
    print("fovea-bench — \(machine.cpu), \(machine.cores) cores, threads \(machine.threads.map(String.init).joined(separator: ", ")), \(machine.buildConfiguration) build, Swift \(machine.swiftVersion)")
    print(String(format: "FMA peak %.1f GFLOP/s per core, %.1f on %d; %@ (core %@); dispatch micro-kernel %@",
                 machine.peakPerCore, machine.peakAllCores, machine.threads.max() ?? 1, machine.openBLAS, machine.openBLASCore, machine.microKernel))
}

/// When an engine is `check:<backend>`: prints the checking device's report (every operation
/// against naive, per layer and op), then throws its first violation, if any.
func finishChecking(engines: [String]) throws {
    guard engines.contains(where: { $0.lowercased().hasPrefix(Devices.checkPrefix) }) else { return }
    print("\ncheck report (each operation also run on naive; max abs and normwise max rel error):")
    print(CheckReport.process.table())
    if let violation = CheckReport.process.violations.first { throw violation.error }
}

/// Writes `text` to `path` ("-" for standard output).
func write(_ text: String, to path: String) throws {
    if path == "-" { print(text, terminator: "") } else { try text.write(toFile: path, atomically: true, encoding: .utf8) }
}

/// Writes `report` as JSON and/or CSV where the options ask.
func writeReport(_ report: BenchReport, json: String?, csv: String?) throws {
    if let json { try write(String(decoding: try report.jsonData(), as: UTF8.self) + "\n", to: json) }
    if let csv { try write(CSVWriter.csv(report), to: csv) }
}

/// One timing run of convolution layers: what `fovea-bench` (the quick default) and
/// `fovea-bench layers` (the whole suite) both do once their options are read.
struct LayerTiming {
    var suite: [BenchLayer]
    var passes: [LayerRunner.Pass]
    var batches: [Int]
    var threads: [Int]
    var runs: Int
    var engines: [String]
    var algorithms: ConvolutionAlgorithmOverride = .none
    var json: String?
    var csv: String?

    /// Checks the engine names before anything is timed.
    static func validate(engines: [String]) throws {
        for engine in engines where !["openblas", "dispatch", "naive", "sgemm"].contains(engine) {
            guard engine.lowercased().hasPrefix(Devices.checkPrefix) else {
                throw ValidationError("unknown engine '\(engine)'; valid: openblas, dispatch, naive, sgemm, check:<backend>")
            }
            _ = try Devices.make(engine, threads: 1)
        }
    }

    /// Times the suite, prints the table (and, with `verdict`, the fastest backend), writes the reports.
    func run(verdict: Bool) throws {
        try Self.validate(engines: engines)
        let machine = machineInfo(threads: threads)
        let peak = MachinePeak(perCore: machine.peakPerCore, allCores: machine.peakAllCores, threads: threads.max() ?? 1)
        var runner = LayerRunner(layers: suite, passes: passes, batches: batches, threads: threads,
                                 runs: runs, engines: engines, peak: peak, progress: progress)
        runner.algorithms = algorithms
        let results = try runner.run()
        let report = BenchReport(machine: machine, layers: results)
        printHeader(machine)
        print("median of \(runs) runs per engine after \(LayerRunner.warmUps) warm-ups, each gated on the cores running at ≥ 90% of peak; naive: one run, layers ≤ 0.2 GFLOP")
        print("")
        print(LayersCommand.table(results))
        if verdict {
            print("")
            if let verdict = Verdict(results) {
                print(verdict.line)
            } else {
                print("only \(Set(results.map(\.engine)).sorted().joined(separator: ", ")) timed: nothing to compare")
            }
            print("FOVEA_DEVICE=auto (the default) picks \(Devices.automaticBackend) here (\(Devices.automaticReason))")
        }
        try writeReport(report, json: json, csv: csv)
        try finishChecking(engines: engines)
    }
}

/// Options every timing command shares, checked before any work: `--runs`, `--batches`, `--threads`.
enum BenchLimits {
    static let runs = 1...1000
    static let batch = 1...1024
    static let threads = 1...1024

    static func check(runs: Int) throws {
        guard Self.runs.contains(runs) else { throw ValidationError("--runs must be between 1 and 1000, got \(runs)") }
    }
}

/// `fovea-bench` with no subcommand: about a minute on 2 cores.
struct QuickCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quick",
        abstract: "The default: five representative ImageNet layers (strided 11×11, large and small 3×3, 1×1, few outputs), three passes, batch 1, every backend at 1 thread and all cores, then which backend is fastest (about a minute on 2 cores). --full times the whole suite instead.")

    /// The layers of the quick run: one of each kind in the suite.
    static let layerNames = [
        "alexnet.conv1 3→64 11×11/4 @224", "vgg16 256→256 3×3 @56", "resnet50 64→256 1×1 @56",
        "resnet50 256→256 3×3 @14", "densenet121 growth 128→32 3×3 @56",
    ]

    @Flag(help: "The whole ImageNet layer suite at batch 1 and 8 (≈ 5 min on 2 cores; the same as `fovea-bench layers`), with the verdict.")
    var full = false
    @Option(help: "Thread counts (comma-separated); default FOVEA_THREADS, else 1 and all cores.")
    var threads: String?
    @Option(help: "Engines: openblas, dispatch, naive, sgemm, check:<backend>; default FOVEA_DEVICE, else openblas,dispatch,naive.")
    var engines: String?
    @Option(help: "Timed runs per engine after the warm-ups (1 to 1000).")
    var runs: Int = 3
    @Option(help: "Also write the report as JSON to this file (- for standard output).")
    var json: String?

    func validate() throws { try BenchLimits.check(runs: runs) }

    func run() throws {
        let environment = try BenchEnvironment()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let suite = full ? LayerSuite.imageNet : LayerSuite.imageNet.filter { Self.layerNames.contains($0.name) }
        let timing = LayerTiming(
            suite: suite, passes: LayerRunner.Pass.allCases, batches: full ? [1, 8] : [1],
            threads: environment.threadCounts(given: try threads.map(LayersCommand.threadCounts), defaults: Array(Set([1, cores])).sorted()),
            runs: runs, engines: environment.engines(given: engines, defaults: full ? ["openblas", "dispatch", "naive", "sgemm"] : ["openblas", "dispatch", "naive"]),
            json: json, csv: nil)
        try timing.run(verdict: true)
    }
}

struct LayersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "layers", abstract: "Time convolution passes of the whole ImageNet layer suite (≈ 5 min on 2 cores), or of zoo networks' convolution layers (--from-network).")

    @Option(help: "Only layers whose name contains one of these comma-separated words (e.g. vgg,resnet50).")
    var filter: String?
    @Option(help: "Passes: forward, backward-data, backward-filter (comma-separated).")
    var passes: String = "forward,backward-data,backward-filter"
    @Option(help: "Batch sizes, 1 to 1024 (comma-separated).")
    var batches: String = "1,8"
    @Option(help: "Thread counts, 1 to 1024 (comma-separated); default FOVEA_THREADS, else 1 and all cores.")
    var threads: String?
    @Option(help: "Timed runs per engine after the warm-ups (1 to 1000).")
    var runs: Int = 5
    @Option(help: "Engines: openblas, dispatch, naive (one run, small layers only), sgemm (cblas_sgemm alone), check:<backend> (checked against naive; slow); default FOVEA_DEVICE, else openblas,dispatch,naive,sgemm.")
    var engines: String?
    @Flag(help: "The tiny CI smoke suite instead of the ImageNet layers.")
    var tiny = false
    @Option(name: .customLong("from-network"), help: "Time the convolution layers of these zoo networks at 224×224 instead of the suite (comma-separated, e.g. resnet50,densenet121): one layer per distinct geometry, named after its first Conv2D, with ×N the number of the network's Conv2D layers that share it (a geometry an earlier network has is timed once).")
    var fromNetwork: String?
    @Flag(name: .customLong("missing-only"), help: "With --from-network: only the network geometries no suite layer has.")
    var missingOnly = false
    @Flag(name: .customLong("with-suite"), help: "With --from-network: the suite's layers too, before the network's.")
    var withSuite = false
    @Flag(name: .customLong("list-layers"), help: "Print the selected layers with their GFLOP at batch 1 (a network layer also with how many of its network's Conv2D layers share its geometry, and their share of the network's convolution FLOPs) and exit without timing.")
    var listLayers = false
    @Option(name: .customLong("write-layers"), help: "Write the selected layers as JSON for Benchmarks/pytorch_bench.py --layers (- for standard output) and exit without timing.")
    var writeLayers: String?
    @Option(help: "Force convolution algorithms per pass on every backend, as FOVEA_CONV_ALGORITHM (e.g. forward=winograd4,backward-data=im2col; algorithms: im2col, direct, shifted-image, pointwise, channel-lanes, shifted-rows, winograd2, winograd4). A layer a backend cannot run so is skipped on that backend, with a printed note giving the reason.")
    var algorithm: String?
    @Flag(help: "End with the fastest backend and its ratio over the others.")
    var verdict = false
    @Option(help: "Also write the report as JSON to this file (- for standard output).")
    var json: String?
    @Option(help: "Also write the results as CSV to this file (- for standard output).")
    var csv: String?

    func validate() throws {
        try BenchLimits.check(runs: runs)
        if fromNetwork == nil {
            for (flag, given) in [("--missing-only", missingOnly), ("--with-suite", withSuite)] where given {
                throw ValidationError("\(flag) needs --from-network (e.g. --from-network resnet50,densenet121)")
            }
        } else if tiny {
            throw ValidationError("--tiny and --from-network are two different layer lists; give one")
        }
        if let fromNetwork {
            do { _ = try NetworkConvolutions.networks(parsing: fromNetwork, flag: "--from-network") } catch let error as BenchError {
                throw ValidationError(error.description)
            }
        }
    }

    /// The suite, or the networks' convolutions (`--from-network`, `--missing-only`, `--with-suite`),
    /// narrowed by `--filter`; a network layer with its `NetworkConvolution` (count, share).
    func selectedLayers() throws -> [(layer: BenchLayer, convolution: NetworkConvolution?)] {
        let suite = tiny ? LayerSuite.tiny : LayerSuite.imageNet
        var layers: [(layer: BenchLayer, convolution: NetworkConvolution?)] = fromNetwork == nil || withSuite ? suite.map { ($0, nil) } : []
        if let fromNetwork {
            let convolutions = try NetworkConvolutions.convolutions(
                ofZooNetworks: try NetworkConvolutions.networks(parsing: fromNetwork, flag: "--from-network")) { dropped, kept in
                progress("\(dropped.layer.name): the geometry of \(kept.layer.name), timed once")
            }
            layers += (missingOnly ? NetworkConvolutions.missing(from: suite, convolutions) : convolutions).map { ($0.layer, $0) }
            guard !layers.isEmpty else { throw BenchError("every convolution geometry of \(fromNetwork) is already in the suite (--missing-only)") }
        }
        let words = filter?.split(separator: ",").map { $0.lowercased() }
        layers = layers.filter { entry in words.map { $0.contains { entry.layer.name.lowercased().contains($0) } } ?? true }
        guard !layers.isEmpty else { throw ValidationError("--filter \(filter ?? "") matches no layer") }
        return layers
    }

    func run() throws {
        let environment = try BenchEnvironment()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let selected = try selectedLayers()
        let suite = selected.map(\.layer)
        if listLayers { print(try Self.listing(selected)) }
        if let writeLayers { try write(String(decoding: try BenchLayerList(suite).jsonData(), as: UTF8.self) + "\n", to: writeLayers) }
        if listLayers || writeLayers != nil { return }
        let passList = try passes.split(separator: ",").map { name in
            guard let pass = LayerRunner.Pass(rawValue: String(name)) else {
                throw ValidationError("unknown pass '\(name)'; valid: forward, backward-data, backward-filter")
            }
            return pass
        }
        let timing = LayerTiming(
            suite: suite, passes: passList, batches: try Self.numbers(batches, flag: "--batches", range: BenchLimits.batch),
            threads: environment.threadCounts(given: try threads.map(Self.threadCounts), defaults: Array(Set([1, cores])).sorted()),
            runs: runs, engines: environment.engines(given: engines, defaults: ["openblas", "dispatch", "naive", "sgemm"]),
            algorithms: try ConvolutionAlgorithmOverride(parsing: algorithm, variable: "--algorithm"),
            json: json, csv: csv)
        try timing.run(verdict: verdict)
    }

    /// The selected layers as a table: GFLOP at batch 1, and for a network layer how many of the
    /// network's Conv2D layers share its geometry and their share of the network's convolution FLOPs.
    static func listing(_ layers: [(layer: BenchLayer, convolution: NetworkConvolution?)]) throws -> String {
        var table = TextTable(header: ["layer", "GFLOP (batch 1)", "count", "share of network"], leftColumns: 1)
        for (layer, convolution) in layers {
            table.rows.append([layer.name, String(format: "%.3f", try layer.flops(batch: 1) / 1e9), convolution.map { String($0.count) } ?? "",
                               convolution.map { String(format: "%.1f%%", $0.shareOfNetworkFLOPs * 100) } ?? ""])
        }
        return table.description
    }

    /// `--threads` as numbers in `BenchLimits.threads`.
    static func threadCounts(_ text: String) throws -> [Int] { try numbers(text, flag: "--threads", range: BenchLimits.threads) }

    /// Comma-separated whole numbers in `range`, e.g. `1,8`.
    static func numbers(_ text: String, flag: String, range: ClosedRange<Int>) throws -> [Int] {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0.map(range.contains) ?? false }) else {
            throw ValidationError("\(flag) takes whole numbers from \(range.lowerBound) to \(range.upperBound) separated by commas, got '\(text)'")
        }
        return values.map { $0! }
    }

    static func table(_ results: [LayerResult]) -> String {
        var table = TextTable(header: ["layer", "pass", "engine", "batch", "threads", "ms", "GFLOP/s", "% peak", "spread", "workspace", "max rel err"], leftColumns: 3)
        var previous = ""
        for r in results {
            let key = "\(r.layer)|\(r.pass)|\(r.batch)|\(r.threads)"
            table.rows.append([
                key == previous ? "" : r.layer, key == previous ? "" : r.pass, r.engine, String(r.batch), String(r.threads),
                String(format: "%.2f", r.medianMilliseconds), String(format: "%.1f", r.gflops),
                r.percentOfPeak.map { String(format: "%.0f%%", $0) } ?? "", r.runs > 1 ? String(format: "±%.0f%%", r.spread * 100) : "1 run",
                r.workspaceBytes.map { $0 == 0 ? "0" : String(format: "%.1f MiB", Double($0) / 1_048_576) } ?? "",
                r.maxRelativeError.map { String(format: "%.1e", $0) } ?? "",
            ])
            previous = key
        }
        return table.description
    }
}

struct NetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "nets", abstract: "Whole networks at 224×224 (the small models at 28×28): forward and training-step images/s per backend.")

    @Option(help: "Networks (comma-separated): zoo names at 224×224, or the small models cnn, cnn-bn, resnet-small at 28×28.")
    var networks: String = "alexnet,vgg16,resnet50,densenet121"
    @Option(help: "Batch sizes (comma-separated).")
    var batches: String = "1,8"
    @Option(help: "Thread counts, 1 to 1024 (comma-separated); default FOVEA_THREADS, else all cores.")
    var threads: String?
    @Option(help: "Engines: openblas, dispatch, check:<backend> (naive is far too slow at this size, and so is checking); default FOVEA_DEVICE, else openblas,dispatch.")
    var engines: String?
    @Option(help: "Timed runs after a warm-up.")
    var runs: Int = 3
    @Flag(name: .customLong("no-train"), help: "Forward only, no training step.")
    var noTrain = false
    @Flag(name: .customLong("compare-fusion"), help: "Also time the forward pass without layer fusion, interleaved run by run (engine <name>-unfused).")
    var compareFusion = false
    @Flag(help: "Profile instead: per network, the time per operation kind and per layer (shapes, algorithm, GFLOP/s, % of peak), forward and training step, the thread counts side by side.")
    var profile = false
    @Option(name: .customLong("profile-top"), help: "With --profile, list only the layer operations with the most time (1 to 100000; default all).")
    var profileTop: Int?
    @Flag(help: "With --profile, print the tables as Markdown.")
    var markdown = false
    @Option(help: "Also write the report as JSON to this file (- for standard output).")
    var json: String?
    @Option(help: "Also write the results as CSV to this file (- for standard output).")
    var csv: String?

    func validate() throws {
        try BenchLimits.check(runs: runs)
        if let profileTop, !(1...100_000).contains(profileTop) {
            throw ValidationError("--profile-top must be between 1 and 100000, got \(profileTop)")
        }
        if !profile, profileTop != nil || markdown { throw ValidationError("--profile-top and --markdown need --profile") }
        if profile, json != nil || csv != nil || compareFusion {
            throw ValidationError("--profile prints tables; it cannot be combined with --json, --csv or --compare-fusion")
        }
    }

    func run() throws {
        let environment = try BenchEnvironment()
        let threadCounts = environment.threadCounts(given: try threads.map(LayersCommand.threadCounts),
                                                    defaults: [ProcessInfo.processInfo.activeProcessorCount])
        let engineList = environment.engines(given: engines, defaults: ["openblas", "dispatch"])
        let names = networks.split(separator: ",").map(String.init)
        for name in names { _ = try BuiltInModels.defaults(for: name) }
        let machine = machineInfo(threads: threadCounts)
        let peak = MachinePeak(perCore: machine.peakPerCore, allCores: machine.peakAllCores, threads: threadCounts.max() ?? 1)
        var runner = NetworkRunner(networks: names, batches: try LayersCommand.numbers(batches, flag: "--batches", range: BenchLimits.batch), threads: threadCounts,
                                   engines: engineList, runs: runs, trainStep: !noTrain,
                                   peak: peak, progress: progress)
        runner.compareFusion = compareFusion
        if profile {
            printHeader(machine)
            for report in try runner.profile() { print("\n" + report.rendered(top: profileTop, markdown: markdown)) }
            try finishChecking(engines: engineList)
            return
        }
        let results = try runner.run()
        printHeader(machine)
        var table = TextTable(header: ["network", "mode", "engine", "batch", "threads", "images/s", "latency ms", "peak RSS"], leftColumns: 3)
        table.rows = results.map {
            [$0.network, $0.mode, $0.engine, String($0.batch), String($0.threads), String(format: "%.2f", $0.imagesPerSecond),
             String(format: "%.1f", $0.medianMilliseconds), $0.peakResidentBytes.map { String(format: "%.0f MiB", Double($0) / 1_048_576) } ?? ""]
        }
        print(table)
        try writeReport(BenchReport(machine: machine, networks: results), json: json, csv: csv)
        try finishChecking(engines: engineList)
    }
}

struct DataParallelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data-parallel",
        abstract: "Data-parallel training steps under MPI (mpirun -np N fovea-bench data-parallel …): compute only, allreduce after backward, and allreduce overlapped with backward; rank 0 prints the table.")

    @Option(help: "Model: a small model (cnn-bn, resnet-small) or a zoo model (resnet18, resnet50, …).")
    var model: String = "resnet18"
    @Option(help: "Images per rank per step (1 to 4096).")
    var batch: Int = 8
    @Option(name: .customLong("input-size"), help: "Image side (default: the model's, 28 or 224).")
    var inputSize: Int?
    @Option(help: "Timed steps after a warm-up step (1 to 1000).")
    var steps: Int = 5
    @Flag(name: .customLong("sync-batch-norm"), help: "Synchronized batch norm in the data-parallel modes.")
    var syncBatchNorm = false
    @Option(help: "Threads per rank (default FOVEA_THREADS, else the host's cores ÷ its ranks, at most the processors a rank is bound to; mpirun binds each rank to one core unless started with --bind-to none).")
    var threads: Int?

    func validate() throws {
        try BenchLimits.check(runs: steps)
        guard (1...4096).contains(batch) else { throw ValidationError("--batch must be between 1 and 4096, got \(batch)") }
        if let inputSize, !(8...1024).contains(inputSize) { throw ValidationError("--input-size must be between 8 and 1024, got \(inputSize)") }
        if let threads, !(1...Devices.maximumThreads).contains(threads) { throw ValidationError("--threads must be between 1 and \(Devices.maximumThreads), got \(threads)") }
    }

    func run() throws {
        let world = try Communicator.world()
        do {
            let threadCount = try threads ?? FoveaEnvironment.threads.wholeNumber(FoveaEnvironment.threads.text()) ?? world.defaultThreadsPerRank
            if threadCount > ProcessorAffinity.processorCount, world.rank == 0 {
                progress("warning: \(threadCount) threads per rank on \(ProcessorAffinity.processorCount) processor(s) per rank: start with mpirun --bind-to none")
            }
            let device = try Devices.make(try FoveaEnvironment.device.word(FoveaEnvironment.device.text()) ?? "auto", threads: threadCount)
            let runner = DataParallelRunner(world: world, model: model, batch: batch, inputSize: inputSize, steps: steps,
                                            synchronizedBatchNorm: syncBatchNorm, device: device)
            let results = try runner.run()
            if world.rank == 0 {
                print("\(model), \(world.size) ranks × \(batch) images, \(threadCount) thread(s) per rank, \(Devices.describe(device)); median of \(steps) steps after a warm-up, each the slowest rank's")
                var table = TextTable(header: ["gradient exchange", "step ms", "spread", "exposed ms", "images/s"], leftColumns: 1)
                table.rows = results.map {
                    [$0.mode.rawValue, String(format: "%.1f", $0.stepMilliseconds), String(format: "±%.0f%%", $0.spread * 100),
                     String(format: "%.1f", $0.exposedMilliseconds), String(format: "%.1f", $0.imagesPerSecond)]
                }
                print(table)
            }
        } catch {
            world.abort("\(error)")
        }
        Communicator.finalize()
    }
}

struct BatchNormCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batchnorm",
        abstract: "Batch norm in training mode: the device's forward and backward, and BatchNorm2D → ReLU layers forward and backward, per shape.")

    @Option(help: "Input shapes N×C×H×W (comma-separated, e.g. 8x64x112x112,64x32x28x28); default ResNet-50 and DenseNet-121 at batch 8 and cnn-bn at batch 64.")
    var shapes: String?
    @Option(help: "Thread counts, 1 to 1024 (comma-separated); default FOVEA_THREADS, else 1 and all cores.")
    var threads: String?
    @Option(help: "Engines: openblas, dispatch, naive, check:<backend>; default FOVEA_DEVICE, else dispatch.")
    var engines: String?
    @Option(help: "Timed runs after a warm-up (1 to 1000).")
    var runs: Int = 5

    func validate() throws { try BenchLimits.check(runs: runs) }

    func run() throws {
        let environment = try BenchEnvironment()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let shapeList = try shapes.map { text in
            try text.split(separator: ",").map { item in
                guard let shape = BatchNormRunner.shape(item) else { throw ValidationError("--shapes takes N×C×H×W sizes like 8x64x112x112, got '\(item)'") }
                return shape
            }
        } ?? BatchNormRunner.defaultShapes
        let engineList = environment.engines(given: engines, defaults: ["dispatch"])
        for engine in engineList { _ = try Devices.make(engine, threads: 1) }
        let runner = BatchNormRunner(
            shapes: shapeList, threads: environment.threadCounts(given: try threads.map(LayersCommand.threadCounts), defaults: Array(Set([1, cores])).sorted()),
            engines: engineList, runs: runs, progress: progress)
        let results = try runner.run()
        var table = TextTable(header: ["shape", "operation", "engine", "threads", "ms", "spread"], leftColumns: 3)
        table.rows = results.map {
            [$0.shape.dimensions.map(String.init).joined(separator: "x"), $0.operation, $0.engine, String($0.threads),
             String(format: "%.3f", $0.medianMilliseconds), $0.runs > 1 ? String(format: "±%.0f%%", $0.spread * 100) : "1 run"]
        }
        print("median of \(runs) runs after a warm-up")
        print(table)
        try finishChecking(engines: engineList)
    }
}

struct PeakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "peak", abstract: "The FMA peak and the GEMM micro-kernels on one thread.")

    @Option(help: "Square GEMM sizes (comma-separated).")
    var sizes: String = "512,1536"
    @Flag(help: "Also time the other AVX-512 register tiles and blockings (how the default was chosen).")
    var tuning = false

    func run() throws {
        let machine = machineInfo(threads: [ProcessInfo.processInfo.activeProcessorCount])
        printHeader(machine)
        let peak = MachinePeak(perCore: machine.peakPerCore, allCores: machine.peakAllCores, threads: machine.cores)
        for size in try LayersCommand.numbers(sizes, flag: "--sizes", range: 1...8192) {
            print("\nGEMM micro-kernels, one thread, \(size)×\(size)×\(size):")
            print(TextTable(header: ["kernel", "GFLOP/s", "% core peak"],
                            rows: compareKernels(size: size, runs: size > 1024 ? 3 : 5, peak: peak, extra: tuning ? avx512Variants : []),
                            leftColumns: 1))
        }
    }
}

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compare", abstract: "Throughput ratios of report A's engines over report B's.")

    @Argument(help: "Report A (JSON from fovea-bench --json, or from Benchmarks/pytorch_bench.py).")
    var a: String
    @Argument(help: "Report B.")
    var b: String
    @Flag(help: "List every matched entry, not only the geometric means.")
    var details = false

    func run() throws {
        let comparison = Comparison(try BenchReport.read(from: URL(fileURLWithPath: a)), try BenchReport.read(from: URL(fileURLWithPath: b)))
        guard !comparison.rows.isEmpty else { throw BenchError("\(a) and \(b) have no layer or network in common") }
        print(comparison.table(details: details))
    }
}

struct ChartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "chart", abstract: "An SVG bar chart of GFLOP/s per layer and engine from one or more reports.")

    @Argument(help: "Reports to draw (their results are merged).")
    var reports: [String]
    @Option(help: "The SVG file to write.")
    var output: String
    @Option(help: "Pass to draw.")
    var pass: String = "forward"
    @Option(help: "Batch size to draw.")
    var batch: Int = 1
    @Option(help: "Thread count to draw.")
    var threads: Int = 2
    @Option(help: "The peak line in GFLOP/s (default: the first report's measured peak for --threads).")
    var peak: Double?

    func run() throws {
        let loaded = try reports.map { try BenchReport.read(from: URL(fileURLWithPath: $0)) }
        let results = loaded.flatMap(\.layers).filter { $0.pass == pass && $0.batch == batch && $0.threads == threads && $0.engine != "naive" }
        guard !results.isEmpty else { throw BenchError("no \(pass) results at batch \(batch) and \(threads) threads in \(reports.joined(separator: ", "))") }
        let line = peak ?? loaded.first.map { $0.machine.peak(threads: threads) }
        try write(SVGChart.bars(results, title: "Convolution \(pass), batch \(batch), \(threads) thread(s): GFLOP/s", peak: line), to: output)
    }
}

FoveaBench.main()

struct ResultsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results",
        abstract: "Fingerprints (hashes of the float bits) of every suite layer's convolution results on dispatch and openblas at 1 and 2 threads, one line per case, to prove a refactor changes no bit (Scripts/compare-convolution-results.sh).")

    @Flag(help: "Only the reduced layers (output 2–3 positions), not the ImageNet sizes too.")
    var reducedOnly = false
    @Option(help: "Write the lines to this file instead of standard output.")
    var output: String?

    func run() throws {
        let lines = try ConvolutionResults(includeFullSize: !reducedOnly).lines(progress: progress)
        let text = lines.joined(separator: "\n") + "\n"
        if let output {
            try text.write(toFile: output, atomically: true, encoding: .utf8)
        } else {
            print(text, terminator: "")
        }
    }
}

/// `fovea-bench plans`: which convolution algorithm the planner runs for each suite layer, batch,
/// backend and pass (honouring `FOVEA_WINOGRAD` and `FOVEA_CONV_ALGORITHM`).
struct PlansCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plans",
        abstract: "The convolution planner's choice for every suite layer: layer, batch, then the algorithm of each pass on dispatch and openblas, as a Markdown table.")

    @Option(help: "Batch sizes, comma-separated.")
    var batches = "1,8"

    func run() throws {
        let sizes = batches.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.count == batches.split(separator: ",").count, sizes.allSatisfy({ (1...1024).contains($0) }) else {
            throw ValidationError("--batches must be whole numbers from 1 to 1024 separated by commas, got '\(batches)'")
        }
        _ = try Devices.fromEnvironment()  // every FOVEA_* variable checked first
        let table = PlanTable(batches: sizes)
        print(table.markdown(try table.rows()), terminator: "")
    }
}
