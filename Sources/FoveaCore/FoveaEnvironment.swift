import Foundation

/// Every environment variable Fovea reads, with the values each accepts, its default and what it
/// sets; the one place they are parsed. Docs/Environment.md lists the same variables (a test
/// compares the two).
///
/// Every variable is read the same way: unset or empty means the default; words are
/// case-insensitive; numbers are taken exactly as written (no spaces, units or fractions where a
/// whole number is asked for). An invalid value is a `FoveaError` of kind `.invalidArgument`
/// naming the variable, the values it accepts and the value given:
/// `FOVEA_THREADS must be a whole number from 1 to 1024 (…), got 'many'`.
///
/// Readers take the environment as a dictionary (`ProcessInfo.processInfo.environment` by
/// default), so tests pass their own. Adding a variable is one `EnvironmentVariable` below, one
/// entry in `variables`, and one row in Docs/Environment.md.
public enum FoveaEnvironment {
    /// The backends `FOVEA_DEVICE` names, each also as `check:<backend>`.
    public static let backendNames = ["naive", "dispatch", "openblas"]

    /// The name that picks the fastest backend for this machine.
    public static let automaticDeviceName = "auto"

    /// The prefix that wraps a backend in a checking device: `check:openblas`.
    public static let checkPrefix = "check:"

    /// The largest thread count `FOVEA_THREADS` accepts.
    public static let maximumThreads = 1024

    public static let device = EnvironmentVariable(
        "FOVEA_DEVICE", .device(backends: backendNames, automatic: automaticDeviceName, checkPrefix: checkPrefix), default: "auto",
        meaning: "the backend: auto is dispatch where its AVX-512 or AVX2+FMA micro-kernel runs, else openblas; check:<backend> runs every operation on that backend and on naive and compares them")
    public static let threads = EnvironmentVariable(
        "FOVEA_THREADS", .wholeNumber(1...maximumThreads, unit: nil), default: "all cores",
        meaning: "the worker threads of dispatch and openblas")
    public static let spin = EnvironmentVariable(
        "FOVEA_SPIN_US", .wholeNumber(0...1_000_000, unit: "µs"), default: "1000",
        meaning: "how long an idle worker thread of dispatch and openblas keeps polling for the next parallel loop before it sleeps; 0 sleeps at once (waking one then takes tens of µs per loop)")
    public static let winograd = EnvironmentVariable(
        "FOVEA_WINOGRAD", .words(["auto", "off", "always", "f2x2"]), default: "auto",
        meaning: "Winograd for 3×3 stride-1 convolutions: auto where it pays, off never, always F(4×4) wherever eligible, f2x2 only F(2×2)")
    public static let convolutionAlgorithm = EnvironmentVariable(
        "FOVEA_CONV_ALGORITHM",
        .passAlgorithms(passes: ConvolutionPass.allCases.map(\.rawValue), algorithms: ConvolutionAlgorithm.allCases.map(\.rawValue)),
        default: "none",
        meaning: "convolution algorithms forced per pass on dispatch and openblas, e.g. forward=winograd4,backward-data=im2col; a layer the forced algorithm cannot run throws, saying why")
    public static let workspace = EnvironmentVariable(
        "FOVEA_WORKSPACE_MB", .wholeNumber(1...(1 << 20), unit: "MiB"), default: "64",
        meaning: "the most convolution workspace one call of dispatch or openblas allocates")
    public static let tensorCache = EnvironmentVariable(
        "FOVEA_TENSOR_CACHE_MB", .wholeNumber(0...(1 << 20), unit: "MiB"), default: "256",
        meaning: "the freed tensor memory StoragePool keeps for reuse, and the free memory glibc may keep at the top of its heap (HeapRetention); 0 keeps none and leaves the C library's defaults")
    public static let fusion = EnvironmentVariable(
        "FOVEA_FUSION", .onOff(on: ["1", "on", "true", "yes"], off: ["0", "off", "false", "no"]), default: "on",
        meaning: "layer fusion: batch norm folded into the convolution before it, ReLU and residual adds in convolution epilogues, pre-activation batch norms applied by the next convolution, DenseNet transitions pooling first")
    public static let checkTolerance = EnvironmentVariable(
        "FOVEA_CHECK_TOLERANCE", .positiveNumber(example: "1e-3"), default: "1e-3",
        meaning: "the largest normwise relative error check:<backend> accepts")
    public static let fashionMNIST = EnvironmentVariable(
        "FOVEA_FASHION_MNIST", .folder, default: "/usr/share/datasets/fashion-mnist",
        meaning: "the folder with Fashion-MNIST's IDX files")
    public static let mnist = EnvironmentVariable(
        "FOVEA_MNIST", .folder, default: "none",
        meaning: "the folder with MNIST's IDX files, for --dataset mnist of the fovea command")

    public static let collectiveTimeout = EnvironmentVariable(
        "FOVEA_MPI_TIMEOUT", .positiveNumber(example: "600"), default: "300",
        meaning: "seconds a collective between processes (FoveaDistributed) may wait for the other ranks before the job is aborted with an error naming the collective and the rank")
    public static let bucketSize = EnvironmentVariable(
        "FOVEA_BUCKET_MB", .wholeNumber(1...4096, unit: "MiB"), default: "25",
        meaning: "the gradient bucket of data-parallel training: gradients are averaged across processes in buckets of about this size, each started as soon as backward has filled it (the first bucket holds at most 1 MiB)")

    /// Every variable, in the order of the table in Docs/Environment.md.
    public static let variables: [EnvironmentVariable] = [
        device, threads, spin, winograd, convolutionAlgorithm, workspace, tensorCache, fusion, checkTolerance, fashionMNIST, mnist,
        collectiveTimeout, bucketSize,
    ]

    /// The variable called `name`, if Fovea reads it.
    public static func variable(named name: String) -> EnvironmentVariable? {
        variables.first { $0.name == name }
    }

    /// The process's environment.
    public static var process: [String: String] { ProcessInfo.processInfo.environment }
}

/// An environment variable Fovea reads: its name, the values it accepts, its default (as text,
/// for documentation and messages) and what it sets. Its readers return nil when the variable is
/// unset or empty (the caller's default applies) and throw for a value outside `values`.
public struct EnvironmentVariable: Sendable, Hashable, CustomStringConvertible {
    /// The values a variable accepts.
    public enum Values: Sendable, Hashable, CustomStringConvertible {
        /// A backend's name, `automatic`, or `checkPrefix` followed by either (case-insensitive).
        case device(backends: [String], automatic: String, checkPrefix: String)
        /// One of these words (case-insensitive).
        case words([String])
        /// A word that turns something on or off (case-insensitive).
        case onOff(on: [String], off: [String])
        /// A whole number in the range, in `unit` when it has one.
        case wholeNumber(ClosedRange<Int>, unit: String?)
        /// `pass=algorithm` pairs separated by commas (case-insensitive): `ConvolutionAlgorithmOverride`.
        case passAlgorithms(passes: [String], algorithms: [String])
        /// A positive finite decimal number.
        case positiveNumber(example: String)
        /// A path to a folder (any text).
        case folder

        public var description: String {
            switch self {
            case .device(let backends, let automatic, let prefix):
                "\(list([automatic] + backends + ["\(prefix)<backend>"]))"
            case .words(let words):
                list(words)
            case .onOff(let on, let off):
                "\(list(on)) (on) or \(list(off)) (off)"
            case .wholeNumber(let range, let unit):
                "a whole number\(unit.map { " of \($0)" } ?? "") from \(range.lowerBound) to \(range.upperBound)"
            case .passAlgorithms(let passes, let algorithms):
                "pass=algorithm pairs separated by commas, a pass being \(list(passes)) and an algorithm \(list(algorithms))"
            case .positiveNumber(let example):
                "a positive number such as \(example)"
            case .folder:
                "a folder"
            }
        }

        private func list(_ words: [String]) -> String {
            words.count < 2 ? words.joined() : words.dropLast().joined(separator: ", ") + " or " + words.last!
        }
    }

    public let name: String
    public let values: Values
    /// The value that applies when the variable is unset or empty, as documented.
    public let defaultValue: String
    /// What the variable sets.
    public let meaning: String

    public init(_ name: String, _ values: Values, default defaultValue: String, meaning: String) {
        self.name = name
        self.values = values
        self.defaultValue = defaultValue
        self.meaning = meaning
    }

    public var description: String { name }

    /// The error for the value `text`: names the variable, the values it accepts, the default and
    /// the value given.
    public func invalid(_ text: String) -> FoveaError {
        FoveaError.invalidArgument("\(name) must be \(values) (\(meaning); default \(defaultValue)), got '\(text)'")
    }

    /// `invalid(text)` followed by what is wrong with it: `…, got 'forward=fast': 'fast' is not an algorithm`.
    public func invalid(_ text: String, because reason: String) -> FoveaError {
        FoveaError.invalidArgument("\(invalid(text).message): \(reason)")
    }

    /// The variable's text in `environment`, nil when unset or empty.
    public func text(in environment: [String: String] = FoveaEnvironment.process) -> String? {
        environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The validated value `text` of a `.device` or `.words` variable, lowercased; nil for nil or empty.
    /// - Throws: `invalid(text)` for any other word.
    public func word(_ text: String?) throws -> String? {
        guard let text, !text.isEmpty else { return nil }
        let word = text.lowercased()
        switch values {
        case .device(let backends, let automatic, let prefix):
            let names = [automatic] + backends
            let name = word.hasPrefix(prefix) ? String(word.dropFirst(prefix.count)) : word
            guard names.contains(name) else { throw invalid(text) }
        case .words(let words):
            guard words.contains(word) else { throw invalid(text) }
        default:
            preconditionFailure("\(name) is not read as a word")
        }
        return word
    }

    /// Whether the value `text` of an `.onOff` variable turns its setting on; nil for nil or empty.
    /// - Throws: `invalid(text)` for a word in neither list.
    public func isOn(_ text: String?) throws -> Bool? {
        guard case .onOff(let on, let off) = values else { preconditionFailure("\(name) is not an on/off switch") }
        guard let text, !text.isEmpty else { return nil }
        if on.contains(text.lowercased()) { return true }
        if off.contains(text.lowercased()) { return false }
        throw invalid(text)
    }

    /// The value `text` of a `.wholeNumber` variable; nil for nil or empty.
    /// - Throws: `invalid(text)` unless it is ASCII digits (optionally signed) in the range.
    public func wholeNumber(_ text: String?) throws -> Int? {
        guard case .wholeNumber(let range, _) = values else { preconditionFailure("\(name) is not a whole number") }
        guard let text, !text.isEmpty else { return nil }
        guard text.allSatisfy(\.isASCII), let value = Int(text), range.contains(value) else { throw invalid(text) }
        return value
    }

    /// The value `text` of a `.positiveNumber` variable; nil for nil or empty.
    /// - Throws: `invalid(text)` unless it is a positive finite number.
    public func positiveNumber(_ text: String?) throws -> Double? {
        guard case .positiveNumber = values else { preconditionFailure("\(name) is not a number") }
        guard let text, !text.isEmpty else { return nil }
        guard text.allSatisfy(\.isASCII), let value = Double(text), value > 0, value.isFinite else { throw invalid(text) }
        return value
    }

    /// The algorithms the value `text` of a `.passAlgorithms` variable forces; `.none` for nil or empty.
    /// - Throws: `invalid(text, because:)` for a pair that is not `pass=algorithm`, an unknown pass
    ///   or algorithm, or a pass given twice.
    public func algorithmOverride(_ text: String?) throws -> ConvolutionAlgorithmOverride {
        guard case .passAlgorithms = values else { preconditionFailure("\(name) is not read as pass=algorithm pairs") }
        return try ConvolutionAlgorithmOverride(parsing: text) { invalid(text ?? "", because: $0) }
    }

    /// `algorithmOverride(_:)` of the variable's value in `environment`.
    public func algorithmOverride(in environment: [String: String]) throws -> ConvolutionAlgorithmOverride {
        try algorithmOverride(text(in: environment))
    }

    /// `word(_:)` of the variable's value in `environment`.
    public func word(in environment: [String: String]) throws -> String? { try word(text(in: environment)) }

    /// `isOn(_:)` of the variable's value in `environment`.
    public func isOn(in environment: [String: String]) throws -> Bool? { try isOn(text(in: environment)) }

    /// `wholeNumber(_:)` of the variable's value in `environment`.
    public func wholeNumber(in environment: [String: String]) throws -> Int? { try wholeNumber(text(in: environment)) }

    /// `positiveNumber(_:)` of the variable's value in `environment`.
    public func positiveNumber(in environment: [String: String]) throws -> Double? { try positiveNumber(text(in: environment)) }

    /// Throws `invalid` when the variable's value in `environment` is not one it accepts.
    public func validate(in environment: [String: String] = FoveaEnvironment.process) throws {
        let text = text(in: environment)
        switch values {
        case .device, .words: _ = try word(text)
        case .onOff: _ = try isOn(text)
        case .wholeNumber: _ = try wholeNumber(text)
        case .positiveNumber: _ = try positiveNumber(text)
        case .passAlgorithms: _ = try algorithmOverride(text)
        case .folder: break
        }
    }
}
