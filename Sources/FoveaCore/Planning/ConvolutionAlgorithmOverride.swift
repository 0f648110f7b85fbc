import Foundation

/// Algorithms forced per pass instead of the planner's choice, from `FOVEA_CONV_ALGORITHM`
/// (`forward=winograd4,backward-data=im2col`) or given in code (`Devices.make(_:algorithms:)`,
/// `DispatchDevice(algorithms:)`). Passes not named keep the planner's choice. A forced
/// algorithm that cannot run a geometry makes `ConvolutionPlanner.plan(for:pass:forcing:)` throw.
public struct ConvolutionAlgorithmOverride: Hashable, Sendable, CustomStringConvertible {
    public var algorithms: [ConvolutionPass: ConvolutionAlgorithm]

    /// No pass forced.
    public static let none = ConvolutionAlgorithmOverride([:])

    public init(_ algorithms: [ConvolutionPass: ConvolutionAlgorithm]) {
        self.algorithms = algorithms
    }

    public subscript(pass: ConvolutionPass) -> ConvolutionAlgorithm? {
        get { algorithms[pass] }
        set { algorithms[pass] = newValue }
    }

    public var isEmpty: Bool { algorithms.isEmpty }

    /// `forward=winograd4,backward-data=im2col` (passes in `ConvolutionPass` order), or empty.
    public var description: String {
        ConvolutionPass.allCases.compactMap { pass in algorithms[pass].map { "\(pass)=\($0)" } }.joined(separator: ",")
    }

    /// Parses `pass=algorithm` pairs separated by commas (nil or empty: `none`), as
    /// `fovea-bench layers --algorithm` takes them (`FOVEA_CONV_ALGORITHM` is read by
    /// `FoveaEnvironment.convolutionAlgorithm`).
    /// - Throws: `FoveaError` of kind `.invalidArgument` naming `variable`, the bad value and the
    ///   valid passes and algorithms.
    public init(parsing text: String?, variable: String = "--algorithm") throws {
        let passes = ConvolutionPass.allCases.map(\.rawValue).joined(separator: ", ")
        let names = ConvolutionAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")
        try self.init(parsing: text) { why in
            FoveaError.invalidArgument(
                "\(variable) must be pass=algorithm pairs separated by commas (e.g. forward=winograd4,backward-data=im2col), got '\(text ?? "")': \(why); passes are \(passes); algorithms are \(names)")
        }
    }

    /// Parses `pass=algorithm` pairs separated by commas (nil or empty: `none`); `failure` makes
    /// the error for a bad pair from the reason it is bad.
    public init(parsing text: String?, failure: (_ why: String) -> FoveaError) throws {
        var algorithms: [ConvolutionPass: ConvolutionAlgorithm] = [:]
        for item in (text ?? "").split(separator: ",", omittingEmptySubsequences: false) {
            let pair = item.trimmingCharacters(in: .whitespaces)
            if pair.isEmpty && (text ?? "").trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let parts = pair.split(separator: "=", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard parts.count == 2 else { throw failure("'\(pair)' is not pass=algorithm") }
            guard let pass = ConvolutionPass(rawValue: parts[0]) else { throw failure("'\(parts[0])' is not a pass") }
            guard let algorithm = ConvolutionAlgorithm(rawValue: parts[1]) else { throw failure("'\(parts[1])' is not an algorithm") }
            guard algorithms[pass] == nil else { throw failure("\(pass) is given twice") }
            algorithms[pass] = algorithm
        }
        self.algorithms = algorithms
    }
}
