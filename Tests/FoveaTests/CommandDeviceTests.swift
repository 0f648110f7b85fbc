import Foundation
import Fovea
import Testing

/// The `fovea` command's backend: the line it starts with, and errors that name the flag typed.
@Suite("fovea command: device selection")
struct CommandDeviceTests {
    @Test func everyComputingCommandStartsWithItsDevice() throws {
        let result = try ZooCommandTests.run(["summary", "--model", "cnn", "--time"], environment: ["FOVEA_DEVICE": "", "FOVEA_THREADS": "1"])
        #expect(result.status == 0, "\(result.error)")
        let first = result.output.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasPrefix("device: \(Devices.automaticBackend) (1 thread") && first.contains("auto: "), "\(first)")
        let chosen = try ZooCommandTests.run(["summary", "--model", "cnn", "--time", "--device", "openblas", "--threads", "2"])
        let line = chosen.output.split(separator: "\n").first.map(String.init) ?? ""
        #expect(line.hasPrefix("device: openblas (2 threads)") && !line.contains("auto"), "\(line)")
    }

    @Test func badDeviceOrThreadsNameTheFlag() throws {
        for (arguments, flag) in [(["--device", "gpu"], "--device gpu"), (["--threads", "0"], "--threads"), (["--threads", "100000"], "--threads")] {
            let result = try ZooCommandTests.run(["summary", "--model", "cnn", "--time"] + arguments)
            #expect(result.status != 0 && result.status < 128, "\(arguments): \(result.status)")
            #expect(result.error.contains(flag) && !result.error.contains("FOVEA_"), "\(arguments): \(result.error)")
        }
        let environment = try ZooCommandTests.run(["summary", "--model", "cnn", "--time"], environment: ["FOVEA_DEVICE": "gpu"])
        #expect(environment.status != 0 && environment.error.contains("FOVEA_DEVICE must be") && environment.error.contains("'gpu'"), "\(environment.error)")
    }
}
