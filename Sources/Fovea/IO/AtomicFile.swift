import Foundation

/// Writing files so that a crash or a failure never leaves a half-written file in place.
///
/// `write(_:to:)` writes `.<name>.tmp-<pid>-<random>` in the destination's folder, `fsync`s it,
/// renames it over the destination and `fsync`s the folder. What that guarantees:
/// - **process killed at any moment** (SIGKILL, a crash): the destination holds either the previous
///   file or the new one, complete; never a mix. At worst a temporary file is left behind; the next
///   write to the same destination removes the leftovers of processes that no longer run.
///   (`CrashSafetyTests` kills a writer at random moments a hundred times and checks this.)
/// - **power loss or a kernel crash**: the new file's bytes reach the disk before the rename, and
///   the rename itself is made durable by the folder's `fsync`, so after a reboot the destination is
///   the old file or the new one, complete, on file systems that order metadata after data as ext4,
///   XFS and btrfs do. A file system that cannot `fsync` a folder only loses that last step: the
///   destination may then come back as the previous file.
public enum AtomicFile {
    /// Writes `data` to a temporary file in the destination's folder, flushes it to disk, and
    /// renames it over `url` (an atomic replacement on POSIX file systems). On any failure the
    /// temporary file is removed and the previous file at `url`, if any, is left intact.
    public static func write(_ data: Data, to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        removeStaleTemporaries(for: url)
        let temporary = folder.appendingPathComponent(temporaryPrefix(for: url) + "\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard descriptor >= 0 else {
            throw FoveaError(.io, "\(url.path): cannot create a temporary file in \(folder.path): \(String(cString: strerror(errno)))")
        }
        var failure: String?
        data.withUnsafeBytes { raw in
            var written = 0
            while written < raw.count {
                let result = Foundation.write(descriptor, raw.baseAddress! + written, raw.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = "write failed: \(String(cString: strerror(errno)))"
                    return
                }
                written += result
            }
        }
        if failure == nil && fsync(descriptor) != 0 { failure = "fsync failed: \(String(cString: strerror(errno)))" }
        if close(descriptor) != 0 && failure == nil { failure = "close failed: \(String(cString: strerror(errno)))" }
        if failure == nil && rename(temporary.path, url.path) != 0 { failure = "rename failed: \(String(cString: strerror(errno)))" }
        if let failure {
            unlink(temporary.path)
            throw FoveaError(.io, "\(url.path): \(failure); the previous file, if any, is unchanged")
        }
        syncFolder(folder)
    }

    /// The name every temporary file for `url` starts with: `.<name>.tmp-`.
    public static func temporaryPrefix(for url: URL) -> String { ".\(url.lastPathComponent).tmp-" }

    /// Removes the temporary files for `url` left behind by processes that were killed while
    /// writing it (those whose process id, the number after the prefix, no longer runs). Temporary
    /// files of running processes are left alone, so concurrent writers do not disturb each other.
    /// Returns the names removed. Failures are ignored: a leftover is harmless, only untidy.
    @discardableResult
    public static func removeStaleTemporaries(for url: URL) -> [String] {
        let folder = url.deletingLastPathComponent()
        let prefix = temporaryPrefix(for: url)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(prefix) {
            guard let pid = pid_t(name.dropFirst(prefix.count).prefix { $0 != "-" }), pid > 0,
                  pid != getpid(), kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            if unlink(folder.appendingPathComponent(name).path) == 0 { removed.append(name) }
        }
        return removed
    }

    /// Makes a rename in `folder` durable (best effort: some file systems cannot sync a folder).
    private static func syncFolder(_ folder: URL) {
        let descriptor = open(folder.path, O_RDONLY | O_DIRECTORY)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }
}
