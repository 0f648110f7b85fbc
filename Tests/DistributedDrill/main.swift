// The program DistributedTests runs under `mpirun`: `DistributedDrill <scenario> key=value …`.
//
//   collectives                    every collective on sizes 0, 1, odd and above a bucket; prints
//                                  "rank r: collectives ok (n checks)" or the failures
//   train out=DIR [model=plain|bn] [batchnorm=local|sync] [optimizer=sgd|adamw] [steps=5]
//         [batch=12] [images=48] [overlap=on|off] [progress=poll|thread] [reference=1]  data-parallel steps on synthetic data; rank 0 writes the state
//                                  after step k to DIR/step-k.safetensors; every rank prints
//                                  "rank r step k fingerprint F". reference=1: one process, no
//                                  DataParallel, the whole global batch (what N ranks must equal)
//   kill rank=R step=K             trains; rank R kills itself (SIGKILL) at step K
//   hang rank=R                    rank R sleeps instead of joining the next collective
//   throw rank=R                   rank R throws an error before the next collective
//   mismatch rank=R                rank R builds a different model than the others
//   late rank=R                    rank R joins the next collective 3 s late (past the busy polling)
//
// Any error ends the job through Communicator.abort, naming the rank.
import Fovea
import FoveaDistributed
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
let scenario = arguments.first ?? ""
let options = Dictionary(arguments.dropFirst().compactMap { pair -> (String, String)? in
    let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
    return parts.count == 2 ? (parts[0], parts[1]) : nil
}, uniquingKeysWith: { _, last in last })
func option(_ name: String, _ fallback: String) -> String { options[name] ?? fallback }
func number(_ name: String, _ fallback: Int) -> Int { Int(options[name] ?? "") ?? fallback }

let reference = option("reference", "0") == "1"
let world: Communicator? = reference ? nil : try Communicator.world()
do {
    switch scenario {
    case "collectives":
        var drill = CollectiveDrill(world!)
        try drill.run()
    case "train": try TrainingDrill(world: world).run()
    case "kill", "hang", "throw", "mismatch", "late": try FaultDrill(world!, kind: scenario).run()
    default: throw FoveaError.invalidArgument("unknown scenario '\(scenario)'; see Tests/DistributedDrill/main.swift")
    }
} catch {
    guard let world else {
        print("error: \(error)")
        exit(1)
    }
    world.abort("\(error)")
}
fflush(nil)
Communicator.finalize()
