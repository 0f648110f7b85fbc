import Foundation
import Fovea
import Testing

/// `FoveaEnvironment` knows every `FOVEA_*` variable, Docs/Environment.md lists the same ones, and
/// every variable is parsed with the one error style.
@Suite("Environment variables")
struct EnvironmentTableTests {
    /// The rows of the table in Docs/Environment.md: variable, values, default (backticks removed).
    static func documentedRows() throws -> [(name: String, values: String, defaultValue: String)] {
        let url = SourceDeclarations.packageRoot.appendingPathComponent("Docs/Environment.md")
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("| `FOVEA_") else { return nil }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst()
                .map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "`", with: "") }
            guard cells.count >= 3 else { return nil }
            return (cells[0], cells[1], cells[2])
        }
    }

    /// The table and `FoveaEnvironment.variables` name the same variables, in the same order,
    /// with the same accepted values and defaults.
    @Test func documentedTableMatchesTheCode() throws {
        let rows = try Self.documentedRows()
        #expect(rows.map(\.name) == FoveaEnvironment.variables.map(\.name), "Docs/Environment.md: \(rows.map(\.name))")
        for variable in FoveaEnvironment.variables {
            guard let row = rows.first(where: { $0.name == variable.name }) else { continue }
            #expect(row.values == variable.values.description, "\(variable.name): doc '\(row.values)', code '\(variable.values)'")
            #expect(row.defaultValue == variable.defaultValue, "\(variable.name): doc '\(row.defaultValue)', code '\(variable.defaultValue)'")
        }
        #expect(Set(FoveaEnvironment.variables.map(\.name)).count == FoveaEnvironment.variables.count, "a variable is listed twice")
    }

    /// Every `FOVEA_` name in the Swift sources of Sources/ and Benchmarks/ (string literals and
    /// comments alike) is a variable `FoveaEnvironment` knows, or a constant the C headers define.
    @Test func everyVariableNamedInTheSourcesIsKnown() throws {
        let root = SourceDeclarations.packageRoot
        var macros: Set<String> = []
        for file in try Self.files(under: root.appendingPathComponent("CSupport"), suffix: ".h") {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in text.matches(of: /#define\s+(FOVEA_[A-Z0-9_]+)/) { macros.insert(String(match.output.1)) }
        }
        let known = Set(FoveaEnvironment.variables.map(\.name))
        var unknown: [String] = []
        var seen = 0
        for folder in ["Sources", "Benchmarks"] {
            for file in try Self.files(under: root.appendingPathComponent(folder), suffix: ".swift") {
                let text = try String(contentsOf: file, encoding: .utf8)
                for match in text.matches(of: /FOVEA_[A-Z0-9_]*[A-Z0-9]/) {
                    let name = String(match.output)
                    seen += 1
                    if !known.contains(name) && !macros.contains(name) {
                        unknown.append("\(file.path.dropFirst(root.path.count + 1)): \(name)")
                    }
                }
            }
        }
        #expect(seen > 20, "the scan found only \(seen) names")
        #expect(unknown.isEmpty, "not in FoveaEnvironment.variables (add it there and to Docs/Environment.md): \(unknown)")
    }

    static func files(under folder: URL, suffix: String) throws -> [URL] {
        guard let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { return [] }
        return enumerator.compactMap { $0 as? URL }.filter { $0.path.hasSuffix(suffix) }
    }

    /// A bad value of any variable is an `.invalidArgument` from `Devices.fromEnvironment` that
    /// names the variable, its accepted values and the value.
    @Test func everyVariableRejectsABadValueTheSameWay() throws {
        let bad = ["FOVEA_DEVICE": "gpu", "FOVEA_THREADS": "0", "FOVEA_WINOGRAD": "sometimes",
                   "FOVEA_CONV_ALGORITHM": "forward=fast", "FOVEA_WORKSPACE_MB": " 8",
                   "FOVEA_TENSOR_CACHE_MB": "1.5", "FOVEA_FUSION": "maybe", "FOVEA_CHECK_TOLERANCE": "-1",
                   "FOVEA_MPI_TIMEOUT": "0", "FOVEA_BUCKET_MB": "5000", "FOVEA_SPIN_US": "1000001"]
        for variable in FoveaEnvironment.variables {
            guard let text = bad[variable.name] else {
                #expect(variable.values == .folder, "\(variable.name) has no bad value in this test")
                continue
            }
            let error = try #require(throws: FoveaError.self, "\(variable.name)='\(text)'") {
                try Devices.fromEnvironment([variable.name: text])
            }
            #expect(error.kind == .invalidArgument)
            let expected = "\(variable.name) must be \(variable.values) (\(variable.meaning); default \(variable.defaultValue)), got '\(text)'"
            if variable == FoveaEnvironment.convolutionAlgorithm {
                #expect(error.message == expected + ": 'fast' is not an algorithm", "\(error.message)")
            } else {
                #expect(error.message == expected, "\(error.message)")
            }
        }
    }

    /// Unset and empty are the default; words are case-insensitive; numbers are exact.
    @Test func valuesAreReadTheSameWay() throws {
        #expect(try FoveaEnvironment.threads.wholeNumber(in: [:]) == nil)
        #expect(try FoveaEnvironment.threads.wholeNumber(in: ["FOVEA_THREADS": ""]) == nil)
        #expect(try FoveaEnvironment.threads.wholeNumber(in: ["FOVEA_THREADS": "3"]) == 3)
        #expect(throws: FoveaError.self) { try FoveaEnvironment.threads.wholeNumber(in: ["FOVEA_THREADS": "3 "]) }
        #expect(try FoveaEnvironment.device.word(in: ["FOVEA_DEVICE": "Check:OpenBLAS"]) == "check:openblas")
        #expect(try FoveaEnvironment.winograd.word(in: ["FOVEA_WINOGRAD": "OFF"]) == "off")
        #expect(try FoveaEnvironment.fusion.isOn(in: ["FOVEA_FUSION": "No"]) == false)
        #expect(try FoveaEnvironment.checkTolerance.positiveNumber(in: ["FOVEA_CHECK_TOLERANCE": "2e-4"]) == 2e-4)
        #expect(FoveaEnvironment.mnist.text(in: ["FOVEA_MNIST": "/data"]) == "/data")
        #expect(FoveaEnvironment.variable(named: "FOVEA_WINOGRAD") == FoveaEnvironment.winograd)
        #expect(try FoveaEnvironment.convolutionAlgorithm.algorithmOverride(in: [:]) == .none)
        #expect(try FoveaEnvironment.convolutionAlgorithm.algorithmOverride(in: ["FOVEA_CONV_ALGORITHM": "Forward=Winograd2"])
                == ConvolutionAlgorithmOverride([.forward: .winograd2]))
    }
}
