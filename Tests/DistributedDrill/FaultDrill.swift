import Fovea
import FoveaDistributed
import Foundation

/// Ranks that fail: one killed mid-training, one that never joins a collective, one that throws,
/// one that built another model.
struct FaultDrill {
    let world: Communicator
    let kind: String

    init(_ world: Communicator, kind: String) {
        self.world = world
        self.kind = kind
    }

    func run() throws {
        let faulty = number("rank", 1)
        switch kind {
        case "kill":
            let model = try TrainingDrill.model(batchNorm: true)
            let trainer = Trainer(model: model, optimizer: try SGD(model.allParameters, learningRate: 0.01))
            trainer.gradientSynchronizer = try DataParallel(model: model, communicator: world)
            model.synchronizeBatchNorm(over: world)
            let loader = try DataLoader(try TrainingDrill.data(), batchSize: 4, seed: 1, shard: try DatasetShard(index: world.rank, count: world.size))
            for (step, batch) in loader.enumerated() {
                if world.rank == faulty && step == number("step", 2) {
                    print("rank \(world.rank): killing myself at step \(step)")
                    kill(getpid(), SIGKILL)
                }
                try trainer.trainStep(batch)
            }
        case "mismatch":
            // Rank `faulty` builds the model with batch norm, the others without.
            let model = try TrainingDrill.model(batchNorm: world.rank == faulty)
            _ = try DataParallel(model: model, communicator: world)
        case "late", "hang":
            // Late: joins after 3 s (within the tests' timeout); hang: sleeps instead of joining.
            if world.rank == faulty {
                let late = kind == "late"
                print("rank \(world.rank): " + (late ? "joining the allreduce after 3 s" : "sleeping instead of joining the allreduce"))
                sleep(late ? 3 : 600)
            }
            var values = [Float](repeating: 1, count: 10)
            try world.allreduce(&values, label: "the drill's values")
        default:
            if world.rank == faulty { throw FoveaError(.io, "rank \(world.rank) could not read its data (injected by the drill)") }
            var values = [Float](repeating: 1, count: 10)
            try world.allreduce(&values, label: "the drill's values")
        }
        print("rank \(world.rank): done")
    }
}
