import CFuzzDriver
import Fovea
import Foundation

// libFuzzer target for Image.decode (PNG and JPEG through stb_image), in the channel mode chosen by
// the input's length: every input must either decode or throw a FoveaError; a crash, a sanitizer
// report, a hang or running out of memory is a finding. The pixel limit is lowered to 2²⁰ so
// executions stay fast; the checks are the same code as with the default limit.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
    let channels: Image.Channels? = [nil, .grey, .rgb][count % 3]
    _ = try? Image.decode(data, source: "fuzz.png", channels: channels, maximumPixels: 1 << 20)
    return 0
}

// SwiftPM aliases `main` to this top-level code, so it starts libFuzzer's driver itself.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
