import Foundation
import Fovea

// fovea-bench: convolution forward throughput of every backend on ImageNet-sized layers.
//
//   swift run -c release fovea-bench [--threads T] [--batch N] [--runs R] [--skip-naive]
//
// Method (see Docs/Backends.md):
// - every engine gets the same seeded input and weights; each backend's output is checked once
//   against `naive` (naive runs each layer once, as the reference, and is not timed);
// - one warm-up call per engine, then R rounds in which every backend runs once (interleaved, so
//   drifts in machine speed hit all alike); before each timed call, an FMA probe waits until every
//   core runs at ≥ 90% of the measured peak; the median is reported;
// - `sgemm alone` is cblas_sgemm with OpenBLAS's own T threads on the layer's per-image im2col GEMM
//   (M = K, N = P·Q, K = C·R·S) × batch, without the im2col: what the GEMM alone can do. It is
//   timed in its own block after the backends' rounds (OpenBLAS threads spin after each call).

struct Options {
    var threads = ProcessInfo.processInfo.activeProcessorCount
    var batch = 1
    var runs = 9
    var naive = true
    var engines: Set<String> = ["openblas", "dispatch", "sgemm", "kernels"]

    init(arguments: [String]) throws {
        var iterator = arguments.dropFirst().makeIterator()
        func value(_ flag: String) throws -> Int {
            guard let text = iterator.next(), let value = Int(text), value >= 1 else {
                throw FoveaError.invalidArgument("\(flag) needs a positive integer")
            }
            return value
        }
        while let argument = iterator.next() {
            switch argument {
            case "--threads": threads = try value(argument)
            case "--batch": batch = try value(argument)
            case "--runs": runs = try value(argument)
            case "--skip-naive": naive = false
            case "--engines":
                guard let list = iterator.next() else { throw FoveaError.invalidArgument("--engines needs a list, e.g. openblas,dispatch,sgemm") }
                engines = Set(list.split(separator: ",").map(String.init))
            case "-h", "--help":
                print("usage: fovea-bench [--threads T] [--batch N] [--runs R] [--skip-naive] [--engines openblas,dispatch,sgemm,kernels]")
                exit(0)
            default: throw FoveaError.invalidArgument("unknown argument '\(argument)'; try --help")
            }
        }
    }
}

/// Something timed: a backend's convolution, or the bare GEMM.
struct Engine {
    var name: String
    var run: () -> Void
    var checkError: String
}

func progress(_ text: String) {
    FileHandle.standardError.write((text + "\n").data(using: .utf8)!)
}

func runBenchmark() throws {
    let options = try Options(arguments: CommandLine.arguments)
    let devices: [any Device] = try ["openblas", "dispatch"].filter(options.engines.contains).map {
        try Devices.make($0, threads: options.threads)
    }
    progress("measuring the FMA peak…")
    let peak = MachinePeak.measure(threads: options.threads)
    print("fovea-bench — convolution forward, fp32 NCHW, batch \(options.batch), \(options.threads) thread(s)")
    print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; FMA peak \(String(format: "%.1f", peak.perCore)) GFLOP/s per core, \(String(format: "%.1f", peak.allCores)) on \(options.threads)")
    print("\(OpenBLAS.configuration) (core \(OpenBLAS.coreName)); dispatch micro-kernel: \(PackedGEMM.kernelDescription)")
    print("median of \(options.runs) interleaved rounds, each call gated on all cores ≥ 90% of peak")
    print("")
    let header = ["layer", "engine", "ms", "GFLOP/s", "% peak", "spread", "vs sgemm", "max rel err"]
    var rows: [[String]] = []

    for layer in BenchLayer.foundationSuite {
        let g = try layer.geometry(batch: options.batch)
        let input = Tensor.randomNormal(g.inputShape, seed: 1)
        let weight = Tensor.randomNormal(g.weightShape, standardDeviation: 0.05, seed: 2)
        let bias = Tensor.randomNormal([g.outputChannels], seed: 3)
        progress("\(layer.name): checking against naive…")

        let expected = options.naive ? NaiveDevice().conv2dForward(input: input, weight: weight, bias: bias, geometry: g) : nil
        var engines: [Engine] = devices.map { device in
            var error = "not checked"
            if let expected {
                let actual = device.conv2dForward(input: input, weight: weight, bias: bias, geometry: g)
                error = String(format: "%.1e", actual.difference(from: expected, relativeFloor: 1).maxRelative)
            }
            return Engine(name: device.name, run: { _ = device.conv2dForward(input: input, weight: weight, bias: bias, geometry: g) }, checkError: error)
        }
        if options.engines.contains("sgemm") {
            engines.append(sgemmAlone(geometry: g, weight: weight, threads: options.threads))
        }

        progress("\(layer.name): timing…")
        var times = [[Double]](repeating: [], count: engines.count)
        for engine in engines { engine.run() }  // warm-up
        // Fovea's engines interleaved; the OpenBLAS-threaded GEMM in a block of its own afterwards,
        // because OpenBLAS's idle threads keep spinning for a while after each call and would
        // steal a core from the GCD workers of the next engine.
        let interleaved = engines.indices.filter { engines[$0].name != "sgemm alone" }
        for _ in 0..<options.runs {
            for index in interleaved {
                peak.waitUntilQuiet(threads: options.threads)
                times[index].append(Timing.seconds(engines[index].run))
            }
        }
        for index in engines.indices where !interleaved.contains(index) {
            for _ in 0..<options.runs {
                peak.waitUntilQuiet(threads: options.threads)
                times[index].append(Timing.seconds(engines[index].run))
            }
            usleep(300_000)  // let OpenBLAS's threads go back to sleep
        }
        let sgemmMedian = engines.last?.name == "sgemm alone" ? Timing.median(times[engines.count - 1]) : .nan
        for (index, engine) in engines.enumerated() {
            let median = Timing.median(times[index])
            let rate = g.flops / median / 1e9
            rows.append([
                index == 0 ? layer.name : "", engine.name,
                String(format: "%.2f", median * 1e3),
                String(format: "%.1f", rate),
                String(format: "%.0f%%", rate / peak.allCores * 100),
                String(format: "±%.0f%%", Timing.relativeSpread(times[index]) * 100),
                String(format: "%.0f%%", sgemmMedian / median * 100),
                engine.checkError,
            ])
        }
    }
    printTable(header: header, rows: rows)

    if options.engines.contains("kernels") {
        progress("comparing GEMM micro-kernels on one thread…")
        print("")
        print("GEMM micro-kernels, one thread, 512×512×512:")
        printTable(header: ["kernel", "GFLOP/s", "% core peak"], rows: compareKernels(size: 512, runs: 5, peak: peak))
    }
}

/// cblas_sgemm with OpenBLAS's own threads on the layer's GEMM shape, once per image.
func sgemmAlone(geometry g: Conv2DGeometry, weight: Tensor, threads: Int) -> Engine {
    let (m, n, k) = (g.outputChannels, g.columnCount, g.columnRows)
    let columns = Tensor.randomNormal([k, n], seed: 4)
    let product = TensorBox(Tensor(zeros: [m, n]))
    return Engine(name: "sgemm alone", run: {
        OpenBLAS.setThreads(threads)
        weight.withUnsafeBufferPointer { a in
            columns.withUnsafeBufferPointer { b in
                product.tensor.withUnsafeMutableBufferPointer { c in
                    for _ in 0..<g.batch {
                        OpenBLAS.sgemm(false, false, m, n, k, 1, a.baseAddress!, k, b.baseAddress!, n, 0, c.baseAddress!, n)
                    }
                }
            }
        }
        OpenBLAS.useSingleThread()
    }, checkError: "")
}

final class TensorBox {
    var tensor: Tensor
    init(_ tensor: Tensor) { self.tensor = tensor }
}

func printTable(header: [String], rows: [[String]]) {
    let all = [header] + rows
    let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    func line(_ row: [String]) -> String {
        row.enumerated().map { column, text in
            column < 2 ? text.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                : String(repeating: " ", count: widths[column] - text.count) + text
        }.joined(separator: "  ")
    }
    print(line(header))
    print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
    for row in rows { print(line(row)) }
}

do {
    try runBenchmark()
} catch {
    progress("fovea-bench: \(error)")
    exit(1)
}
