import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Checks an output path before any work starts, so a run does not fail only when it first
/// writes (after an epoch of training, say): the path must not be a directory, and its folder
/// must exist and be writable.
enum OutputPath {
    /// - Parameter flag: the option or argument named in the message, e.g. "--out".
    /// - Throws: `ValidationError` naming `flag`, the path and what is wrong.
    static func check(_ path: String, flag: String) throws {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ValidationError("\(flag) \(path) is a directory; give a file name")
        }
        let folder = url.deletingLastPathComponent()
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) else {
            throw ValidationError("\(flag) \(path): the folder \(folder.path) does not exist")
        }
        guard isDirectory.boolValue else {
            throw ValidationError("\(flag) \(path): \(folder.path) is not a folder")
        }
        guard access(folder.path, W_OK) == 0 else {
            throw ValidationError("\(flag) \(path): the folder \(folder.path) is not writable (permission denied)")
        }
    }
}
