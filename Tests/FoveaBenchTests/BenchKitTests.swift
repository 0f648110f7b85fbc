import Foundation
import Fovea
import FoveaBenchKit
import Testing

@Suite("Benchmark harness")
struct BenchKitTests {
    @Test func flopFormula() throws {
        // 2·N·K·C·R·S·P·Q for VGG's 256→256 3×3 at 56 (P = Q = 56) and AlexNet conv1 (P = Q = 55).
        let vgg = BenchLayer("v", 256, 256, kernel: 3, size: 56, padding: 1)
        #expect(try vgg.flops(batch: 8) == 2.0 * 8 * 256 * 256 * 9 * 56 * 56)
        let alexnet = try #require(LayerSuite.imageNet.first { $0.name.hasPrefix("alexnet.conv1") })
        #expect(try alexnet.geometry(batch: 1).outputShape == [1, 64, 55, 55])
        #expect(try alexnet.flops(batch: 1) == 2.0 * 64 * 3 * 121 * 55 * 55)
        #expect(LayerSuite.imageNet.count >= 28)
    }

    @Test func statistics() {
        #expect(Statistics.median([3, 1, 2]) == 2)
        #expect(Statistics.median([4, 1, 3, 2]) == 2.5)
        #expect(Statistics.median([]).isNaN)
        #expect(Statistics.quantile([1, 2, 3, 4, 5], 0.25) == 2)
        #expect(Statistics.quantile([1, 2, 3, 4], 0.5) == 2.5)
        #expect(abs(Statistics.relativeSpread([1, 2, 3, 4, 5]) - 1.0 / 3) < 1e-12)  // (4 − 2)/2 / 3
        #expect(Statistics.relativeSpread([7]) == 0)
        #expect(abs(Statistics.geometricMean([1, 4, 16]) - 4) < 1e-12)
        #expect(Statistics.geometricMean([1, -1]).isNaN)
    }

    static let machine = MachineInfo(cpu: "Test CPU, \"quoted\"", cores: 2, threads: [1, 2], openBLAS: "OpenBLAS x", openBLASCore: "Haswell",
                                     swiftVersion: "6.3", buildConfiguration: "debug", microKernel: "k", peakPerCore: 100, peakAllCores: 190, date: "2026-11-27")

    static func result(_ layer: String, _ engine: String, gflops: Double, pass: String = "forward", threads: Int = 1) -> LayerResult {
        LayerResult(layer: layer, pass: pass, engine: engine, batch: 1, threads: threads, runs: 3, medianMilliseconds: 1,
                    spread: 0.01, gflops: gflops, percentOfPeak: gflops, workspaceBytes: 1024, maxRelativeError: 1e-6)
    }

    @Test func jsonRoundTripAndVersionCheck() throws {
        let report = BenchReport(machine: Self.machine, layers: [Self.result("a,b", "openblas", gflops: 50)],
                                 networks: [NetworkResult(network: "resnet50", mode: "forward", engine: "dispatch", batch: 1, threads: 2, runs: 3,
                                                          imagesPerSecond: 20, medianMilliseconds: 50, peakResidentBytes: 1 << 20)])
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(getpid()).json")
        try report.jsonData().write(to: url)
        let back = try BenchReport.read(from: url)
        #expect(back.layers == report.layers && back.networks == report.networks && back.machine.cpu == Self.machine.cpu)
        var wrong = String(decoding: try report.jsonData(), as: UTF8.self)
        wrong = wrong.replacingOccurrences(of: "\"formatVersion\" : 1", with: "\"formatVersion\" : 9")
        try wrong.write(to: url, atomically: true, encoding: .utf8)
        #expect(throws: BenchError.self) { try BenchReport.read(from: url) }
        try "not json".write(to: url, atomically: true, encoding: .utf8)
        #expect(throws: BenchError.self) { try BenchReport.read(from: url) }
        try? FileManager.default.removeItem(at: url)
    }

    @Test func csvQuotesFields() {
        #expect(CSVWriter.line(["plain", "a,b", "say \"hi\""]) == "plain,\"a,b\",\"say \"\"hi\"\"\"")
        let csv = CSVWriter.csv(BenchReport(machine: Self.machine, layers: [Self.result("x", "dispatch", gflops: 10)]))
        let lines = csv.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].hasPrefix("layer,pass,engine") && lines[1].hasPrefix("x,forward,dispatch,1,1,3,"))
    }

    @Test func compareGivesRatiosAndGeometricMeans() {
        let a = BenchReport(machine: Self.machine, layers: [Self.result("l1", "openblas", gflops: 100), Self.result("l2", "openblas", gflops: 50),
                                                            Self.result("only-a", "openblas", gflops: 1)])
        let b = BenchReport(machine: Self.machine, layers: [Self.result("l1", "pytorch", gflops: 50), Self.result("l2", "pytorch", gflops: 100)])
        let comparison = Comparison(a, b)
        #expect(comparison.rows.count == 2)
        #expect(Set(comparison.rows.map(\.ratio)) == [2, 0.5])
        let summary = comparison.summary
        #expect(summary.count == 1 && summary[0].engineA == "openblas" && summary[0].engineB == "pytorch")
        #expect(abs(summary[0].geometricMean - 1) < 1e-12)
        #expect(comparison.table(details: true).contains("1.00×"))
    }

    @Test func svgChartHasABarPerResult() {
        let results = [Self.result("l1", "openblas", gflops: 100), Self.result("l1", "dispatch", gflops: 80), Self.result("l2", "openblas", gflops: 60)]
        let svg = SVGChart.bars(results, title: "t <&>", peak: 120)
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        #expect(svg.components(separatedBy: "height=\"8.0\"").count - 1 == 3)  // one bar per result
        #expect(svg.contains("t &lt;&amp;&gt;") && svg.contains("peak 120"))
    }

    /// The harness itself on the tiny suite (one run, one thread): every engine gives a row per
    /// pass, the backends agree with naive, and the workspace of a 1×1 layer is zero.
    @Test func smokeRunOnTheTinySuite() throws {
        let runner = LayerRunner(layers: LayerSuite.tiny, passes: LayerRunner.Pass.allCases, batches: [2], threads: [1], runs: 1,
                                 engines: ["openblas", "dispatch", "naive", "sgemm"],
                                 peak: MachinePeak(perCore: 1, allCores: 1, threads: 1), progress: { _ in })
        let results = try runner.run()
        #expect(results.count == LayerSuite.tiny.count * 3 * 4)
        for r in results where r.engine == "openblas" || r.engine == "dispatch" {
            #expect((r.maxRelativeError ?? 1) < 1e-4, "\(r.layer) \(r.pass) \(r.engine)")
            #expect(r.gflops > 0 && r.medianMilliseconds > 0)
        }
        #expect(results.filter { $0.layer.contains("1×1") && $0.engine == "openblas" }.allSatisfy { $0.workspaceBytes == 0 })
        #expect(results.filter { $0.layer.contains("3×3") && $0.engine == "openblas" && $0.pass == "forward" }.allSatisfy { ($0.workspaceBytes ?? 0) > 0 })
    }

    /// The verdict: the engine with the lowest times, and each other's slowdown as a geometric mean
    /// over shared timings; sgemm is no backend; one backend alone gives no verdict.
    @Test func verdictNamesTheFastestBackendAndItsRatios() throws {
        func timed(_ layer: String, _ engine: String, ms: Double, threads: Int = 1) -> LayerResult {
            LayerResult(layer: layer, pass: "forward", engine: engine, batch: 1, threads: threads, runs: 3, medianMilliseconds: ms,
                        spread: 0, gflops: 1, percentOfPeak: nil, workspaceBytes: nil, maxRelativeError: nil)
        }
        let results = [
            timed("a", "openblas", ms: 2), timed("a", "dispatch", ms: 1), timed("a", "naive", ms: 100), timed("a", "sgemm", ms: 0.1),
            timed("b", "openblas", ms: 4), timed("b", "dispatch", ms: 1), timed("b", "openblas", ms: 3, threads: 2), timed("b", "dispatch", ms: 3, threads: 2),
        ]
        let verdict = try #require(Verdict(results))
        #expect(verdict.fastest == "dispatch")
        #expect(verdict.others.map(\.engine) == ["openblas", "naive"])
        #expect(abs(verdict.others[0].ratio - 2) < 1e-12)  // (2 · 4 · 1)^(1/3)
        #expect(verdict.others[0].timings == 3 && verdict.others[1].timings == 1)
        #expect(abs(verdict.others[1].ratio - 100) < 1e-9)
        #expect(verdict.line == "fastest backend: dispatch — 2.00× as fast as openblas (3 timings), 100× as fast as naive (1 timing)")
        #expect(Verdict([timed("a", "dispatch", ms: 1), timed("a", "sgemm", ms: 0.5)]) == nil)
        let flipped = try #require(Verdict([timed("a", "openblas", ms: 1), timed("a", "dispatch", ms: 1.5)]))
        #expect(flipped.fastest == "openblas")
    }

    /// FOVEA_DEVICE and FOVEA_THREADS are the defaults of --engines and --threads, validated as
    /// the library validates them; explicit options win.
    @Test func environmentChoosesEnginesAndThreads() throws {
        let unset = try BenchEnvironment([:])
        #expect(unset.engines(given: nil, defaults: ["openblas", "dispatch"]) == ["openblas", "dispatch"])
        #expect(unset.threadCounts(given: nil, defaults: [1, 2]) == [1, 2])
        let set = try BenchEnvironment(["FOVEA_DEVICE": "openblas", "FOVEA_THREADS": "3"])
        #expect(set.engines(given: nil, defaults: ["dispatch"]) == ["openblas"])
        #expect(set.engines(given: "naive,dispatch", defaults: []) == ["naive", "dispatch"])
        #expect(set.threadCounts(given: nil, defaults: [1, 2]) == [3])
        #expect(set.threadCounts(given: [4], defaults: [1]) == [4])
        #expect(try BenchEnvironment(["FOVEA_DEVICE": "auto"]).engine == Devices.automaticBackend)
        for (variable, value) in [("FOVEA_DEVICE", "gpu"), ("FOVEA_THREADS", "0"), ("FOVEA_THREADS", "many")] {
            let error = try #require(throws: FoveaError.self) { try BenchEnvironment([variable: value]) }
            #expect(error.message.contains(variable), "\(error.message)")
        }
    }
}

/// `fovea-bench plans`: one row per layer and batch, every pass of every backend planned, and the
/// rules' known choices (Docs/Architecture.md) visible in it.
@Suite("Plan table")
struct PlanTableTests {
    @Test func everyLayerAndPassIsPlanned() throws {
        let table = PlanTable(layers: LayerSuite.imageNet, batches: [1, 8])
        let rows = try table.rows(environment: [:])
        #expect(rows.count == LayerSuite.imageNet.count * 2)
        for row in rows {
            #expect(row.algorithms.count == 2 && row.algorithms.allSatisfy { $0.count == ConvolutionPass.allCases.count }, "\(row)")
            // openblas has im2col and Winograd only; backward-filter is always im2col there.
            #expect(row.algorithms[1].allSatisfy { [.im2col, .winograd2, .winograd4].contains($0) }, "\(row)")
            #expect(row.algorithms[1][2] == .im2col, "\(row)")
            // dispatch never chooses im2col for forward.
            #expect(row.algorithms[0][0] != .im2col, "\(row)")
        }
        let markdown = table.markdown(rows)
        #expect(markdown.split(separator: "\n").count == rows.count + 2)
        #expect(markdown.hasPrefix("| layer | batch | dispatch forward | dispatch backward-data | dispatch backward-filter | openblas forward |"))
    }

    @Test func forcedAlgorithmShowsInEveryRowItCanRun() throws {
        let layer = try #require(LayerSuite.imageNet.first { $0.kernel == 3 && $0.options.stride.height == 1 })
        let rows = try PlanTable(layers: [layer], batches: [1]).rows(environment: ["FOVEA_CONV_ALGORITHM": "forward=winograd2"])
        #expect(rows.map { $0.algorithms.map { $0[0] } } == [[.winograd2, .winograd2]])
    }
}

/// `fovea-bench nets --profile`'s tables, from profiles made up here so every cell is known.
@Suite("Network profile report")
struct NetworkProfileReportTests {
    static func profile(threads: Int, convolutionSeconds: Double, addSeconds: Double, wall: Double) -> Profile {
        let convolution = OperationKind(family: "convolution", algorithm: .direct, direction: "forward")
        let add = OperationKind(family: "add", direction: "forward")
        // Two runs: each record's time and FLOPs count half.
        let records = (0..<2).flatMap { _ in [
            OperationRecord(layer: "conv1", operation: "conv2dForward", kind: convolution, shapes: "1×3×8×8 → 1×4×8×8, 3×3",
                            flops: 4e9, seconds: convolutionSeconds),
            OperationRecord(layer: "block", operation: "add", kind: add, shapes: "1×4×8×8", flops: nil, seconds: addSeconds),
        ] }
        return Profile(mode: "forward", device: "test", threads: threads, runs: 2, wallSeconds: wall,
                       phases: [("forward", wall)], records: records)
    }

    @Test func tablesShowTimeShareRatePeakAndSpeedup() {
        let report = NetworkProfileReport(
            network: "net", engine: "dispatch", batch: 1,
            profiles: [Self.profile(threads: 1, convolutionSeconds: 0.08, addSeconds: 0.01, wall: 0.1),
                       Self.profile(threads: 2, convolutionSeconds: 0.05, addSeconds: 0.01, wall: 0.07)],
            peakPerCore: 100)
        let kinds = report.kindTable
        #expect(kinds.header == ["operation kind", "ms 1T", "share", "GFLOP/s", "% peak", "ms 2T", "share", "GFLOP/s", "% peak", "2T ÷ 1T"])
        // 4 GFLOP in 80 ms = 50 GFLOP/s = 50% of one 100 GFLOP/s core; at 2 threads 80 GFLOP/s = 40% of 200.
        #expect(kinds.rows[0] == ["convolution direct forward", "80.0", "80.0%", "50", "50%", "50.0", "71.4%", "80", "40%", "1.60×"])
        #expect(kinds.rows[1] == ["add forward", "10.0", "10.0%", "", "", "10.0", "14.3%", "", "", "1.00×"])
        #expect(kinds.rows[2][0] == "between operations" && kinds.rows[2][1] == "10.0" && kinds.rows[2][5] == "10.0")
        let layers = report.layerTable()
        #expect(layers.rows.map { Array($0.prefix(4)) } == [["conv1", "conv2dForward", "1×3×8×8 → 1×4×8×8, 3×3", "direct"],
                                                             ["block", "add", "1×4×8×8", ""]])
        #expect(report.layerTable(top: 1).rows.map { $0[0] } == ["conv1"])
        #expect(report.title.hasPrefix("net · dispatch · batch 1 · forward — 1 thread 100.0 ms (10.00 images/s), 2 threads 70.0 ms"))
        let markdown = report.rendered(markdown: true)
        #expect(markdown.contains("| operation kind | ms 1T | share |") && markdown.contains("| --- | ---: |"))
    }

    @Test func oneThreadCountHasNoSpeedupColumn() {
        let report = NetworkProfileReport(network: "net", engine: "dispatch", batch: 1,
                                          profiles: [Self.profile(threads: 2, convolutionSeconds: 0.05, addSeconds: 0.01, wall: 0.07)],
                                          peakPerCore: 100)
        #expect(report.kindTable.header.last == "% peak")
        #expect(report.layerTable().rows.allSatisfy { $0.count == 7 })
    }
}
