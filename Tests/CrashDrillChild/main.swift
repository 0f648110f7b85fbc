// The child process of `CrashSafetyTests`: resumes `CrashDrillRun` from the checkpoint (if any),
// then trains and checkpoints after every step until it is killed (or reaches the step limit).
//
//     CrashDrillChild <checkpoint.safetensors> [step limit, default 100000]
//
// It reports on stdout, one line per event, each with one unbuffered write(2) so a kill never
// loses a line that was reported as done:
//     ready <step>          the checkpoint is loaded (0: a fresh run)
//     loss <step> <bits>    step <step> took place; its loss as the hex bit pattern of a Float
//     writing <step>        the checkpoint of <step> is about to be written
//     saved <step>          ... and it is in place
// Errors go to stderr with exit status 1.
import CrashDrill
import Foundation

func report(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
}

let arguments = CommandLine.arguments
guard arguments.count == 2 || arguments.count == 3, let limit = arguments.count == 3 ? Int(arguments[2]) : 100_000 else {
    FileHandle.standardError.write(Data("usage: CrashDrillChild <checkpoint.safetensors> [step limit]\n".utf8))
    exit(2)
}
let checkpoint = URL(fileURLWithPath: arguments[1])
do {
    let run = try CrashDrillRun(resumingFrom: checkpoint)
    report("ready \(run.step)")
    while run.step < limit {
        let loss = try run.trainStep()
        report("loss \(run.step) \(String(loss.bitPattern, radix: 16))")
        report("writing \(run.step)")
        try run.save(to: checkpoint)
        report("saved \(run.step)")
    }
} catch {
    FileHandle.standardError.write(Data("CrashDrillChild: \(error)\n".utf8))
    exit(1)
}
