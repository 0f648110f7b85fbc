import Foundation
import Fovea

/// Times convolution passes of the layer suite on Fovea's backends (and `cblas_sgemm` alone).
///
/// Method:
/// - every engine gets the same seeded input, weight and output gradient;
/// - correctness: each backend is compared with `naive` on a reduced-size copy of the layer (same
///   channels, kernel, stride and padding; the input shrunk so the output has 2–3 rows and
///   columns), because naive on a full ImageNet layer takes minutes;
/// - timing: per engine, in a block of its own, three warm-up calls, then `runs` timed calls,
///   each after an FMA probe has waited until the cores run at ≥ 90% of the measured peak; the
///   median is reported. Engines are not interleaved, because each engine's run would evict the
///   other's operands (packed weights) from the cache (Docs/Performance.md, "Measurements behind
///   the code"); the PyTorch script times each engine in a block too.
/// - `naive` is timed with one run, only on layers of at most `naiveFlopLimit` FLOPs;
/// - `sgemm` is `cblas_sgemm` with OpenBLAS's own threads on the per-image GEMM shape of the pass,
///   × batch, without im2col — timed in a block of its own after the backends (OpenBLAS threads
///   spin after each call and would steal a core from the next engine).
public struct LayerRunner {
    /// Untimed calls before the timed ones, per engine (and per network in `NetworkRunner`), so the
    /// worker threads are running before the first timed call. `Benchmarks/pytorch_bench.py` warms
    /// up as many times.
    public static let warmUps = 3

    public typealias Pass = ConvolutionPass

    public var layers: [BenchLayer]
    public var passes: [Pass]
    public var batches: [Int]
    public var threads: [Int]
    public var runs: Int
    public var engines: [String]
    public var naiveFlopLimit: Double
    /// Convolution algorithms forced per pass on every backend (`--algorithm`); a layer whose pass
    /// a backend cannot run so is skipped on that backend with a note (`skipped`).
    public var algorithms: ConvolutionAlgorithmOverride = .none
    /// Receives one line per skipped (layer, pass, engine): the planner's reason.
    public var skipped: (String) -> Void = { print($0) }
    public var peak: MachinePeak
    public var progress: (String) -> Void

    public init(layers: [BenchLayer], passes: [Pass], batches: [Int], threads: [Int], runs: Int, engines: [String],
                naiveFlopLimit: Double = 2e8, peak: MachinePeak, progress: @escaping (String) -> Void) {
        self.layers = layers
        self.passes = passes
        self.batches = batches
        self.threads = threads
        self.runs = runs
        self.engines = engines
        self.naiveFlopLimit = naiveFlopLimit
        self.peak = peak
        self.progress = progress
    }

    /// The operands of one pass, made once per layer and batch.
    struct Operands {
        var input: Tensor
        var weight: Tensor
        var bias: Tensor
        var gradOutput: Tensor
        var geometry: Conv2DGeometry
        /// The suite layer's name, the `OperationScope` of its passes (a checking device reports them so).
        var layerName: String

        init(_ geometry: Conv2DGeometry, layerName: String) {
            self.geometry = geometry
            self.layerName = layerName
            input = Tensor.randomNormal(geometry.inputShape, seed: 1)
            weight = Tensor.randomNormal(geometry.weightShape, standardDeviation: 0.05, seed: 2)
            bias = Tensor.randomNormal([geometry.outputChannels], seed: 3)
            gradOutput = Tensor.randomNormal(geometry.outputShape, seed: 4)
        }

        func run(_ pass: Pass, on device: any Device) -> Tensor {
            OperationScope.$current.withValue(layerName) { compute(pass, on: device) }
        }

        private func compute(_ pass: Pass, on device: any Device) -> Tensor {
            switch pass {
            case .forward: device.conv2dForward(input: input, weight: weight, bias: bias, geometry: geometry)
            case .backwardData: device.conv2dBackwardData(gradOutput: gradOutput, weight: weight, geometry: geometry)
            case .backwardFilter: device.conv2dBackwardFilter(gradOutput: gradOutput, input: input, geometry: geometry).weight
            }
        }
    }

    /// The layer with its input shrunk so the output is 2–3 positions high and wide.
    static func reduced(_ layer: BenchLayer) -> BenchLayer {
        var small = layer
        let stride = layer.options.stride.height, padding = layer.options.padding.height
        small.size = min(layer.size, max(1, 2 * stride + layer.kernel - 2 * padding))
        return small
    }

    public func run() throws -> [LayerResult] {
        var results: [LayerResult] = []
        // `cblas_sgemm` with OpenBLAS's own threads runs after everything else: its worker threads
        // keep a core busy long after the calls return (a 200 ms pause did not settle them), and
        // Fovea's 2-thread timings taken after it stayed at the 1-thread figures on short layers.
        var sgemmCases: [(layer: BenchLayer, pass: Pass, batch: Int, threads: Int, geometry: Conv2DGeometry)] = []
        let naive = NaiveDevice()
        for layer in layers {
            // Correctness once per layer and pass, on the reduced copy.
            var errors: [String: [Pass: Double]] = [:]
            let small = Operands(try Self.reduced(layer).geometry(batch: 2), layerName: layer.name)
            for count in threads {
                for name in engines where name != "naive" && name != "sgemm" {
                    let device = try Devices.make(name, threads: count, algorithms: algorithms)
                    for pass in passes where runs(pass, of: small, on: device) {
                        let difference = small.run(pass, on: device).difference(from: small.run(pass, on: naive), relativeFloor: 1e-2)
                        errors[name, default: [:]][pass] = max(errors[name]?[pass] ?? 0, Double(difference.maxRelative))
                    }
                }
            }
            for batch in batches {
                let operands = Operands(try layer.geometry(batch: batch), layerName: layer.name)
                let flops = operands.geometry.flops
                for count in threads {
                    let allDevices = try engines.filter { $0 != "naive" && $0 != "sgemm" }
                        .map { try Devices.make($0, threads: count, algorithms: algorithms) }
                    for pass in passes {
                        progress("\(layer.name) · \(pass.rawValue) · batch \(batch) · \(count) thread\(count == 1 ? "" : "s")")
                        let devices = allDevices.filter { runs(pass, of: operands, on: $0) }
                        var times = [[Double]](repeating: [], count: devices.count)
                        for (index, device) in devices.enumerated() {  // each engine in a block of its own
                            for _ in 0..<Self.warmUps { _ = operands.run(pass, on: device) }
                            for _ in 0..<runs {
                                peak.waitUntilQuiet(threads: count)
                                times[index].append(Statistics.seconds { _ = operands.run(pass, on: device) })
                            }
                        }
                        for (index, device) in devices.enumerated() {
                            results.append(result(layer, pass, device.name, batch, count, times[index], flops,
                                                  workspace: (device as? any ConvolutionPlanning)
                                                      .flatMap { try? $0.convolutionPlan(for: operands.geometry, pass: pass).workspaceBytes },
                                                  error: errors[device.name]?[pass]))
                        }
                        if engines.contains("naive") && flops <= naiveFlopLimit {
                            let seconds = Statistics.seconds { _ = operands.run(pass, on: naive) }
                            results.append(result(layer, pass, "naive", batch, count, [seconds], flops, workspace: 0, error: 0))
                        }
                        if engines.contains("sgemm") { sgemmCases.append((layer, pass, batch, count, operands.geometry)) }
                    }
                }
            }
        }
        for c in sgemmCases {
            progress("\(c.layer.name) · \(c.pass.rawValue) · batch \(c.batch) · \(c.threads) thread\(c.threads == 1 ? "" : "s") · sgemm alone")
            let times = sgemmAlone(c.geometry, pass: c.pass, threads: c.threads)
            results.append(result(c.layer, c.pass, "sgemm", c.batch, c.threads, times, c.geometry.flops, workspace: nil, error: nil))
        }
        return results
    }

    /// Whether `device` can run `pass` of the operands' layer with the forced algorithms; if not,
    /// reports the skip with the planner's reason.
    func runs(_ pass: Pass, of operands: Operands, on device: any Device) -> Bool {
        do {
            try device.checkConvolutionPlan(for: operands.geometry, pass: pass)
            return true
        } catch {
            skipped("skipped \(operands.layerName) \(pass) on \(device.name) (\(operands.geometry.inputShape)): \(error)")
            return false
        }
    }

    func result(_ layer: BenchLayer, _ pass: Pass, _ engine: String, _ batch: Int, _ threads: Int, _ times: [Double],
                _ flops: Double, workspace: Int?, error: Double?) -> LayerResult {
        let median = Statistics.median(times)
        let rate = flops / median / 1e9
        let limit = threads <= 1 ? peak.perCore : min(peak.perCore * Double(threads), max(peak.allCores, peak.perCore))
        return LayerResult(layer: layer.name, pass: pass.rawValue, engine: engine, batch: batch, threads: threads, runs: times.count,
                           medianMilliseconds: median * 1e3, spread: Statistics.relativeSpread(times), gflops: rate,
                           percentOfPeak: limit > 0 ? rate / limit * 100 : nil, workspaceBytes: workspace, maxRelativeError: error)
    }

    /// `cblas_sgemm` on the pass's per-image GEMM, `batch` times, with OpenBLAS's own threads.
    func sgemmAlone(_ g: Conv2DGeometry, pass: Pass, threads: Int) -> [Double] {
        let (k, n, rows) = (g.outputChannelsPerGroup, g.columnCount, g.columnRows)
        // forward: [K×CRS]·[CRS×PQ]; backward-data: [CRS×K]·[K×PQ]; backward-filter: [K×PQ]·[PQ×CRS].
        let (m, nn, kk, ta, tb): (Int, Int, Int, Bool, Bool) = switch pass {
        case .forward: (k, n, rows, false, false)
        case .backwardData: (rows, n, k, true, false)
        case .backwardFilter: (k, rows, n, false, true)
        }
        let a = Tensor.randomNormal([ta ? kk : m, ta ? m : kk], seed: 5)
        let b = Tensor.randomNormal([tb ? nn : kk, tb ? kk : nn], seed: 6)
        var c = Tensor(zeros: [m, nn])
        let repeats = g.batch * g.groups
        func once() {
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        for _ in 0..<repeats {
                            OpenBLAS.sgemm(ta, tb, m, nn, kk, 1, pa.baseAddress!, ta ? m : kk, pb.baseAddress!, tb ? kk : nn, 0, pc.baseAddress!, nn)
                        }
                    }
                }
            }
        }
        OpenBLAS.setThreads(threads)
        defer { OpenBLAS.useSingleThread() }
        once()
        var times: [Double] = []
        for _ in 0..<runs {
            peak.waitUntilQuiet(threads: threads)
            times.append(Statistics.seconds(once))
        }
        return times
    }
}
