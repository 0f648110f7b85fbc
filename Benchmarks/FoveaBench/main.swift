import Foundation
import Fovea

// fovea-bench: convolution forward throughput of every backend on ImageNet-sized layers.
//
//   swift run -c release fovea-bench [--threads T] [--batch N] [--runs R] [--skip-naive]
//
// Every backend gets the same seeded input and weights; each backend's output is checked once
// against `naive` (naive runs each layer once — it is the reference, not a contender). Timing:
// one warm-up call per engine, then R rounds in which every engine runs once (interleaved, so
// machine noise hits all alike); the median is reported. `sgemm alone` is cblas_sgemm with
// OpenBLAS's own threads on the layer's per-image im2col GEMM shape (M=K, N=P·Q, K=C·R·S),
// without the im2col.

struct Options {
    var threads = ProcessInfo.processInfo.activeProcessorCount
    var batch = 1
    var runs = 9
    var naive = true

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
            case "-h", "--help":
                print("usage: fovea-bench [--threads T] [--batch N] [--runs R] [--skip-naive]")
                exit(0)
            default: throw FoveaError.invalidArgument("unknown argument '\(argument)'; try --help")
            }
        }
    }
}

func runBenchmark() throws {
    let options = try Options(arguments: CommandLine.arguments)
    let devices: [any Device] = [
        try Devices.make("openblas", threads: options.threads),
        try Devices.make("dispatch", threads: options.threads),
    ]
    let reference = NaiveDevice()
    print("fovea-bench — convolution forward, fp32 NCHW, batch \(options.batch), \(options.threads) thread(s)")
    print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; \(OpenBLAS.configuration) (core \(OpenBLAS.coreName))")
    print("dispatch micro-kernel: \(PackedGEMM.kernelDescription); median of \(options.runs) interleaved rounds")
    print("")
    let header = ["layer", "engine", "ms", "GFLOP/s", "spread", "vs sgemm", "max rel err"]
    var rows: [[String]] = []

    for layer in BenchLayer.foundationSuite {
        let g = try layer.geometry(batch: options.batch)
        let input = Tensor.randomNormal(g.inputShape, seed: 1)
        let weight = Tensor.randomNormal(g.weightShape, standardDeviation: 0.05, seed: 2)
        let bias = Tensor.randomNormal([g.outputChannels], seed: 3)
        FileHandle.standardError.write("\(layer.name): running…\n".data(using: .utf8)!)

        // Correctness once, against naive.
        var errors: [String] = []
        if options.naive {
            let expected = reference.conv2dForward(input: input, weight: weight, bias: bias, geometry: g)
            for device in devices {
                let actual = device.conv2dForward(input: input, weight: weight, bias: bias, geometry: g)
                errors.append(String(format: "%.1e", actual.difference(from: expected, relativeFloor: 1).maxRelative))
            }
        } else {
            errors = devices.map { _ in "not checked" }
        }

        // The GEMM alone: per image, M = K, N = P·Q, K = C·R·S, with OpenBLAS's own threads.
        let (m, n, k) = (g.outputChannels, g.columnCount, g.columnRows)
        var columns = Tensor.randomNormal([k, n], seed: 4)
        var product = Tensor(zeros: [m, n])
        let sgemmAlone = {
            OpenBLAS.setThreads(options.threads)
            weight.withUnsafeBufferPointer { a in
                columns.withUnsafeMutableBufferPointer { b in
                    product.withUnsafeMutableBufferPointer { c in
                        for _ in 0..<options.batch {
                            OpenBLAS.sgemm(false, false, m, n, k, 1, a.baseAddress!, k, b.baseAddress!, n, 0, c.baseAddress!, n)
                        }
                    }
                }
            }
            OpenBLAS.useSingleThread()
            usleep(150_000)  // let OpenBLAS's spinning threads go idle before the next engine runs
        }
        var engines: [(String, () -> Void)] = devices.map { device in
            (device.name, { _ = device.conv2dForward(input: input, weight: weight, bias: bias, geometry: g) })
        }
        engines.append(("sgemm alone", sgemmAlone))

        var times = [[Double]](repeating: [], count: engines.count)
        for (_, run) in engines { run() }  // warm-up
        for _ in 0..<options.runs {
            for (index, engine) in engines.enumerated() {
                if engine.0 == "sgemm alone" {
                    // Time only the GEMM calls, not the idle wait.
                    OpenBLAS.setThreads(options.threads)
                    let t = Timing.seconds {
                        weight.withUnsafeBufferPointer { a in
                            columns.withUnsafeMutableBufferPointer { b in
                                product.withUnsafeMutableBufferPointer { c in
                                    for _ in 0..<options.batch {
                                        OpenBLAS.sgemm(false, false, m, n, k, 1, a.baseAddress!, k, b.baseAddress!, n, 0, c.baseAddress!, n)
                                    }
                                }
                            }
                        }
                    }
                    OpenBLAS.useSingleThread()
                    usleep(150_000)
                    times[index].append(t)
                } else {
                    times[index].append(Timing.seconds(engine.1))
                }
            }
        }
        let sgemmMedian = Timing.median(times[engines.count - 1])
        for (index, engine) in engines.enumerated() {
            let median = Timing.median(times[index])
            rows.append([
                index == 0 ? layer.name : "", engine.0,
                String(format: "%.2f", median * 1e3),
                String(format: "%.1f", g.flops / median / 1e9),
                String(format: "±%.0f%%", Timing.relativeSpread(times[index]) * 100),
                String(format: "%.0f%%", sgemmMedian / median * 100),
                index < errors.count ? errors[index] : "",
            ])
        }
    }
    printTable(header: header, rows: rows)
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
    FileHandle.standardError.write("fovea-bench: \(error)\n".data(using: .utf8)!)
    exit(1)
}
