import Foundation
import Fovea
import Testing

/// Input files that are directories, missing or unreadable, and kernels too large for the image or
/// for memory: named errors, not Foundation's "NSCocoaErrorDomain error 256" or unbounded growth.
@Suite("input file errors")
struct InputFileErrorTests {
    private func message(_ body: () throws -> Void) -> String {
        do { try body() } catch let error as FoveaError { return error.message } catch { return "unexpected \(error)" }
        return "no error"
    }

    @Test func aDirectoryIsNamedAsOneByEveryReader() throws {
        let folder = try DataFixtures.temporaryFolder("readers")
        defer { try? FileManager.default.removeItem(at: folder) }
        let readers: [(String, () throws -> Void)] = [
            ("image", { _ = try Image.read(from: folder) }),
            ("safetensors file", { _ = try SafeTensors.read(from: folder) }),
            ("safetensors file", { _ = try Checkpoint.load(from: folder) }),
            ("kernel file", { _ = try ImageKernel.read(from: folder) }),
            ("IDX file", { _ = try IDXFile.read(from: folder) }),
        ]
        for (what, read) in readers {
            #expect(message(read) == "\(folder.path) is a directory, not the \(what)")
        }
        let missing = folder.appendingPathComponent("missing.png")
        #expect(message { _ = try Image.read(from: missing) } == "\(missing.path): the image does not exist")
    }

    @Test func unreadableFilesSayPermissionDenied() throws {
        guard getuid() != 0 else { return }  // root reads everything
        let folder = try DataFixtures.temporaryFolder("unreadable")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("k.txt")
        try "1 2; 3 4".write(to: url, atomically: true, encoding: .utf8)
        chmod(url.path, 0)
        #expect(message { _ = try ImageKernel.read(from: url) }.contains("permission denied"))
    }

    @Test func gaussianSizesAreBounded() throws {
        #expect(message { _ = try ImageKernel.named("gaussian:99999:3") } == "gaussian kernel: size must be between 1 and 255, got 99999")
        #expect(message { _ = try ImageKernel.named("gaussian:0:3") }.contains("between 1 and 255, got 0"))
        #expect(message { _ = try ImageKernel.named("gaussian:5:0") }.contains("σ must be a finite number > 0"))
        #expect(try ImageKernel.named("gaussian:255:40").rows == 255)
    }

    @Test func kernelFilesAreBounded() throws {
        let folder = try DataFixtures.temporaryFolder("bigkernel")
        defer { try? FileManager.default.removeItem(at: folder) }
        let huge = folder.appendingPathComponent("huge.txt")
        try Data(count: ImageKernel.maximumFileBytes + 1).write(to: huge)
        #expect(message { _ = try ImageKernel.read(from: huge) }.contains("more than the \(ImageKernel.maximumFileBytes) allowed"))
    }

    /// A kernel larger than the padded image, from the command line: both sizes named, no growth.
    @Test func commandsNameTheProblem() throws {
        let fixtures = try CommandFixtures("inputfiles")
        defer { fixtures.remove() }
        let big = fixtures.folder.appendingPathComponent("big.txt")
        try (0..<301).map { _ in Array(repeating: "1", count: 301).joined(separator: " ") }.joined(separator: "\n").write(to: big, atomically: true, encoding: .utf8)
        let folder = fixtures.folder.path
        for (arguments, expected) in [
            (["filter", "--kernel", "gaussian:99999:3", fixtures.png, "o.png"], "gaussian kernel: size must be between 1 and 255, got 99999"),
            (["filter", "--kernel-file", big.path, "--padding", "valid", fixtures.png, "o.png"], "the dilated kernel height 301 is larger than the padded input height 5"),
            (["filter", "--kernel-file", folder, fixtures.png, "o.png"], "\(folder) is a directory, not the kernel file"),
            (["filter", "--kernel", "sharpen", folder, "o.png"], "\(folder) is a directory, not the image"),
            (["predict", "--weights", folder, fixtures.png], "\(folder) is a directory, not the safetensors file"),
        ] {
            let result = try ZooCommandTests.run(arguments, timeout: 30, directory: fixtures.folder)
            #expect(result.status > 0 && result.status < 128 && result.error.contains(expected), "\(arguments): \(result.status) \(result.error.suffix(500))")
        }
    }
}
