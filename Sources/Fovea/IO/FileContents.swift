import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole input file for the library's readers (images, safetensors, IDX, kernel files),
/// turning every failure into a `FoveaError(.io)` that names the file and says what is wrong in
/// words — "is a directory", "does not exist", "permission denied" — instead of Foundation's
/// "The operation could not be completed (NSCocoaErrorDomain error 256)".
public enum FileContents {
    /// The bytes of `url`.
    /// - Parameters:
    ///   - what: what the file should be, for messages, e.g. "the kernel file".
    ///   - mapped: memory-map the file when that is safe (large weight files).
    ///   - maximumBytes: refuse larger files before reading them.
    /// - Throws: `.io` naming the path and the reason.
    public static func read(_ url: URL, what: String = "file", mapped: Bool = false, maximumBytes: Int? = nil) throws -> Data {
        try check(url, what: what, maximumBytes: maximumBytes)
        do {
            return try Data(contentsOf: url, options: mapped ? .mappedIfSafe : [])
        } catch {
            throw FoveaError(.io, "\(url.path): cannot read the \(what): \(error.localizedDescription)")
        }
    }

    /// Throws unless `url` names an existing, readable regular file (not a directory) of at most
    /// `maximumBytes`.
    public static func check(_ url: URL, what: String = "file", maximumBytes: Int? = nil) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw FoveaError(.io, "\(url.path): the \(what) does not exist")
        }
        if isDirectory.boolValue {
            throw FoveaError(.io, "\(url.path) is a directory, not the \(what)")
        }
        guard access(url.path, R_OK) == 0 else {
            throw FoveaError(.io, "\(url.path): permission denied: cannot read the \(what)")
        }
        if let maximumBytes, let size = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int, size > maximumBytes {
            throw FoveaError(.io, "\(url.path): the \(what) has \(size) bytes, more than the \(maximumBytes) allowed")
        }
    }
}
