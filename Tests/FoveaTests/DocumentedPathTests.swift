import Foundation
import Testing

/// Every file and folder the documentation names exists, so the map stays true to the code when
/// files move. Read: README.md and Docs/*.md. Checked: repository paths (`Sources/…`, `CSupport/…`,
/// `Tests/…`, `Benchmarks/…`, `Scripts/…`, `Docs/…`, `Examples/…`), paths inside a target
/// (`FoveaDispatch/PackedGEMM.swift`, `CFoveaKernels/sgemm_avx512.c`), and relative Markdown links.
@Suite("Paths named in the docs")
struct DocumentedPathTests {
    static let root = SourceDeclarations.packageRoot

    /// The Markdown files checked: README.md and every file in Docs/.
    static func documents() throws -> [URL] {
        let docs = root.appendingPathComponent("Docs")
        let names = try FileManager.default.contentsOfDirectory(atPath: docs.path).filter { $0.hasSuffix(".md") }.sorted()
        return [root.appendingPathComponent("README.md")] + names.map { docs.appendingPathComponent($0) }
    }

    /// Paths from the repository root, e.g. `Sources/FoveaCore/Tensor.swift` or `Scripts/`.
    static var repositoryPath: Regex<(Substring, Substring)> { #/(?:^|[^\w/.])((?:Sources|CSupport|Tests|Benchmarks|Scripts|Docs|Examples|\.ci)/[\w+.*/-]*[\w+/])/#.anchorsMatchLineEndings() }
    /// Paths inside a target, e.g. `FoveaDispatch/PackedGEMM.swift`, `Fovea/Layers/` or `CFoveaKernels/sgemm_avx512.c`.
    static var targetPath: Regex<(Substring, Substring)> { #/(?:^|[^\w/.])((?:Fovea\w*|CFoveaKernels|COpenBLAS|CZlib|CStb)/[\w+./-]*[\w+/])/#.anchorsMatchLineEndings() }
    /// Relative Markdown links, e.g. `[Backends.md](Backends.md#checking-device)`.
    static var link: Regex<(Substring, Substring)> { #/\]\((?!https?:|mailto:|#)([^)#\s]+)/# }

    /// Paths the docs name that only exist after running a tool: the fuzzing script's output
    /// (git-ignored).
    static let generatedPrefixes = ["Tests/Fuzz/Corpus/", "Tests/Fuzz/Findings/", "Tests/Fuzz/Logs/", "Tests/Fuzz/.build/"]

    /// The folders a target-relative path may start in.
    static let targetFolders = ["Sources", "CSupport", "Tests", "Benchmarks"]

    /// Whether `path` exists under `folder`; a `*` in its last component matches any characters
    /// (`Tests/FoveaTests/Malformed*Tests.swift`).
    static func exists(_ path: String, relativeTo folder: URL) -> Bool {
        let url = folder.appendingPathComponent(path)
        guard url.lastPathComponent.contains("*") else { return FileManager.default.fileExists(atPath: url.path) }
        let parts = url.lastPathComponent.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)) ?? []
        return names.contains { name in
            guard name.hasPrefix(parts.first!), name.hasSuffix(parts.last!) else { return false }
            var rest = Substring(name.dropFirst(parts.first!.count))
            for part in parts.dropFirst().dropLast() {
                guard let range = rest.range(of: part) else { return false }
                rest = rest[range.upperBound...]
            }
            return rest.count >= parts.last!.count
        }
    }

    /// The paths a document names that do not exist, as `file: path`.
    static func missingPaths(in document: URL) throws -> [String] {
        let text = try String(contentsOf: document, encoding: .utf8)
        var missing: [String] = []
        for match in text.matches(of: repositoryPath) {
            let path = String(match.1)
            guard !generatedPrefixes.contains(where: path.hasPrefix) else { continue }
            if !exists(path, relativeTo: root) { missing.append(path) }
        }
        for match in text.matches(of: targetPath) {
            let path = String(match.1)
            if !targetFolders.contains(where: { exists(path, relativeTo: root.appendingPathComponent($0)) }) {
                missing.append(path)
            }
        }
        for match in text.matches(of: link) {
            let path = String(match.1)
            if !exists(path, relativeTo: document.deletingLastPathComponent()) { missing.append("link \(path)") }
        }
        return missing.map { "\(document.lastPathComponent): \($0)" }
    }

    @Test func everyPathNamedInTheDocsExists() throws {
        let documents = try Self.documents()
        #expect(documents.count > 5, "found only \(documents.map(\.lastPathComponent))")
        let missing = try documents.flatMap { try Self.missingPaths(in: $0) }
        #expect(missing.isEmpty, "named in the docs but missing:\n\(missing.joined(separator: "\n"))")
    }

    /// The checker finds a path that does not exist, in each of its three forms.
    @Test func aMissingPathIsFound() throws {
        let document = FileManager.default.temporaryDirectory.appendingPathComponent("DocumentedPathTests-\(UUID()).md")
        defer { try? FileManager.default.removeItem(at: document) }
        try """
        See Sources/FoveaCore/Tensor.swift, Sources/FoveaCore/Tensor*.swift, Sources/FoveaCore/NoSuchFile.swift,
        FoveaDispatch/PackedGEMM.swift and FoveaDispatch/Nowhere.swift, [a](Missing.md#part).
        """.write(to: document, atomically: true, encoding: .utf8)
        #expect(try Self.missingPaths(in: document).map { $0.components(separatedBy: ": ").last! }
                == ["Sources/FoveaCore/NoSuchFile.swift", "FoveaDispatch/Nowhere.swift", "link Missing.md"])
    }
}
