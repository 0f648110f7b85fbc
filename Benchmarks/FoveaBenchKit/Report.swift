import Foundation

/// The machine and build a benchmark ran on (the header of every report).
public struct MachineInfo: Codable, Sendable {
    public var cpu: String
    public var cores: Int
    public var threads: [Int]
    public var openBLAS: String
    public var openBLASCore: String
    public var swiftVersion: String
    public var buildConfiguration: String
    public var microKernel: String
    /// Measured FMA peak, GFLOP/s: one core, and all `threads.max()` cores together.
    public var peakPerCore: Double
    public var peakAllCores: Double
    public var date: String

    public init(cpu: String, cores: Int, threads: [Int], openBLAS: String, openBLASCore: String, swiftVersion: String,
                buildConfiguration: String, microKernel: String, peakPerCore: Double, peakAllCores: Double, date: String) {
        self.cpu = cpu
        self.cores = cores
        self.threads = threads
        self.openBLAS = openBLAS
        self.openBLASCore = openBLASCore
        self.swiftVersion = swiftVersion
        self.buildConfiguration = buildConfiguration
        self.microKernel = microKernel
        self.peakPerCore = peakPerCore
        self.peakAllCores = peakAllCores
        self.date = date
    }

    /// The peak for `threads` threads: per-core peak × threads, capped by the measured all-core peak.
    public func peak(threads: Int) -> Double {
        threads <= 1 ? peakPerCore : min(peakPerCore * Double(threads), max(peakAllCores, peakPerCore))
    }

    /// The CPU model name from /proc/cpuinfo.
    public static func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        }
        return "unknown"
    }

    public static var swiftCompilerVersion: String {
        #if compiler(>=6.3)
        "6.3+"
        #elseif compiler(>=6.2)
        "6.2"
        #elseif compiler(>=6.1)
        "6.1"
        #else
        "6.0"
        #endif
    }

    public static var buildConfigurationName: String {
        #if DEBUG
        "debug"
        #else
        "release"
        #endif
    }
}

/// One timed convolution pass of one engine.
public struct LayerResult: Codable, Sendable, Hashable {
    public var layer: String
    /// `forward`, `backward-data` or `backward-filter`.
    public var pass: String
    /// `openblas`, `dispatch`, `naive`, `sgemm` (the GEMM alone), or another framework's name.
    public var engine: String
    public var batch: Int
    public var threads: Int
    public var runs: Int
    public var medianMilliseconds: Double
    /// Half the interquartile range relative to the median.
    public var spread: Double
    public var gflops: Double
    public var percentOfPeak: Double?
    public var workspaceBytes: Int?
    /// Largest relative error against `naive` on the reduced-size check (nil when not checked).
    public var maxRelativeError: Double?

    public init(layer: String, pass: String, engine: String, batch: Int, threads: Int, runs: Int, medianMilliseconds: Double,
                spread: Double, gflops: Double, percentOfPeak: Double?, workspaceBytes: Int?, maxRelativeError: Double?) {
        self.layer = layer
        self.pass = pass
        self.engine = engine
        self.batch = batch
        self.threads = threads
        self.runs = runs
        self.medianMilliseconds = medianMilliseconds
        self.spread = spread
        self.gflops = gflops
        self.percentOfPeak = percentOfPeak
        self.workspaceBytes = workspaceBytes
        self.maxRelativeError = maxRelativeError
    }
}

/// One whole-network measurement.
public struct NetworkResult: Codable, Sendable, Hashable {
    public var network: String
    /// `forward` (evaluation mode) or `train-step` (forward, loss, backward, SGD step).
    public var mode: String
    public var engine: String
    public var batch: Int
    public var threads: Int
    public var runs: Int
    public var imagesPerSecond: Double
    public var medianMilliseconds: Double
    public var peakResidentBytes: Int?

    public init(network: String, mode: String, engine: String, batch: Int, threads: Int, runs: Int,
                imagesPerSecond: Double, medianMilliseconds: Double, peakResidentBytes: Int?) {
        self.network = network
        self.mode = mode
        self.engine = engine
        self.batch = batch
        self.threads = threads
        self.runs = runs
        self.imagesPerSecond = imagesPerSecond
        self.medianMilliseconds = medianMilliseconds
        self.peakResidentBytes = peakResidentBytes
    }
}

/// What `fovea-bench` writes with `--json` (and what the PyTorch script writes too).
public struct BenchReport: Codable, Sendable {
    public var tool: String
    public var formatVersion: Int
    public var machine: MachineInfo
    public var layers: [LayerResult]
    public var networks: [NetworkResult]

    public static let currentFormatVersion = 1

    public init(tool: String = "fovea-bench", machine: MachineInfo, layers: [LayerResult] = [], networks: [NetworkResult] = []) {
        self.tool = tool
        formatVersion = Self.currentFormatVersion
        self.machine = machine
        self.layers = layers
        self.networks = networks
    }

    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    public static func read(from url: URL) throws -> BenchReport {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw BenchError("\(url.path): cannot read: \(error.localizedDescription)")
        }
        do {
            let report = try JSONDecoder().decode(BenchReport.self, from: data)
            guard report.formatVersion == currentFormatVersion else {
                throw BenchError("\(url.path): format version \(report.formatVersion), this fovea-bench reads \(currentFormatVersion)")
            }
            return report
        } catch let error as BenchError {
            throw error
        } catch {
            throw BenchError("\(url.path): not a fovea-bench report: \(error)")
        }
    }
}

/// A benchmark error with a message for people.
public struct BenchError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
