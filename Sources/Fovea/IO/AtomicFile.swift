import Foundation

/// Writing files so that a crash or a failure never leaves a half-written file in place.
public enum AtomicFile {
    /// Writes `data` to a temporary file in the destination's folder, flushes it to disk, and
    /// renames it over `url` (an atomic replacement on POSIX file systems). On any failure the
    /// temporary file is removed and the previous file at `url`, if any, is left intact.
    public static func write(_ data: Data, to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
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
    }
}
