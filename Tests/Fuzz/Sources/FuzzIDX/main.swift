import CFuzzDriver
import Fovea
import Foundation

// libFuzzer target for IDXFile.decode (plain and gzip): every input must either decode or throw a
// FoveaError; a crash, a sanitizer report, a hang or running out of memory is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
    _ = try? IDXFile.decode(data, source: "fuzz.idx")
    return 0
}

// SwiftPM aliases `main` to this top-level code, so it starts libFuzzer's driver itself.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
