import Fovea
import Foundation

/// Executables built with the tests (`fovea`, `CrashDrillChild`, `DistributedDrill`): they sit
/// next to the test bundle in the build products folder, which is found from the test
/// process's own paths.
public enum BuiltExecutable {
    /// The executable `name`.
    /// - Throws: `.io` naming the folders searched, for a test to report.
    public static func url(_ name: String) throws -> URL {
        var folders: [URL] = []
        for start in [Bundle.main.executableURL, Bundle.main.bundleURL, URL(fileURLWithPath: CommandLine.arguments[0])].compactMap({ $0 }) {
            var folder = start.deletingLastPathComponent()
            for _ in 0..<4 {
                folders.append(folder)
                folder = folder.deletingLastPathComponent()
            }
        }
        for folder in folders {
            let candidate = folder.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw FoveaError(.io, "the \(name) executable is not in \(Set(folders.map(\.path)).sorted()); it is built with the tests (swift build --build-tests)")
    }
}
