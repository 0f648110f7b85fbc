import Fovea
import FoveaDistributed
import Foundation

/// The processes `fovea train` runs on: this one alone, or every rank of an MPI job
/// (`mpirun -np N fovea train --distributed …`). Rank 0 leads: it reads the files the run
/// starts from and shares their bytes, prints the log and the progress bar, and writes the
/// checkpoints; every rank trains on its shard of each global batch.
struct TrainingJob {
    /// The job's processes; nil when training alone.
    let world: Communicator?

    /// One process.
    static let alone = TrainingJob(world: nil)

    /// Joins the MPI job this process was started in (MPI_Init).
    static func joinMPI() throws -> TrainingJob { TrainingJob(world: try Communicator.world()) }

    var rank: Int { world?.rank ?? 0 }
    var size: Int { world?.size ?? 1 }
    /// Rank 0, which prints and saves.
    var isLeader: Bool { rank == 0 }

    /// Throws unless every rank was started with the same arguments (ranks trained with
    /// different options would wait for each other's collectives, or diverge).
    func checkSameArguments() throws {
        try world?.checkSameOnEveryRank(StateFingerprint.of(CommandLine.arguments.dropFirst().joined(separator: "\u{0}")),
                                        what: "the fovea train arguments")
    }

    /// This rank's part of every batch.
    func shard() throws -> DatasetShard { try DatasetShard(index: rank, count: size) }

    /// Threads per rank when neither --threads nor FOVEA_THREADS says: the host's cores shared
    /// by the job's processes on it, at most the processors the rank is bound to
    /// (`Communicator.defaultThreadsPerRank`). Nil when alone (the device's own default).
    var defaultThreads: Int? { world?.defaultThreadsPerRank }

    /// A warning when the device runs more threads than the processors this rank is bound to
    /// (mpirun binds each rank to one core by default), naming the fix; nil otherwise.
    func bindingWarning(threads: Int) -> String? {
        guard world != nil else { return nil }
        let bound = ProcessorAffinity.processorCount
        guard threads > bound else { return nil }
        return "warning: rank \(rank) runs \(threads) threads on the \(bound) processor(s) mpirun bound it to; start the job with --bind-to none (or --map-by slot:PE=\(threads)) so its threads get cores of their own"
    }

    /// The checkpoint at `path`, read by rank 0 and broadcast to the others (whose hosts need not
    /// hold the file). An error reading it on rank 0 aborts the job.
    func loadCheckpoint(_ path: String) throws -> Checkpoint {
        let url = URL(fileURLWithPath: path)
        guard let world else { return try Checkpoint.load(from: url) }
        let bytes = isLeader ? try FileContents.read(url, what: "checkpoint", mapped: false) : Data()
        return try Checkpoint.decode(try world.broadcast(bytes, from: 0, label: "the checkpoint \(path)"), source: path)
    }

    /// `values` summed over the ranks (themselves when alone).
    func sum(_ values: [Double], label: String) throws -> [Double] {
        guard let world else { return values }
        var summed = values
        try world.allreduce(&summed, .sum, label: label)
        return summed
    }

    /// Prints on rank 0 only.
    func say(_ line: String) {
        guard isLeader else { return }
        print(line)
        fflush(nil)
    }

    /// Ends the job's MPI use (every rank, after its last collective).
    func finish() {
        if world != nil { Communicator.finalize() }
    }

    /// After an error on this rank: alone, rethrows it; in an MPI job, aborts every rank with a
    /// message naming this one (the others would wait in their next collective).
    func fail(_ error: any Error) throws -> Never {
        guard let world else { throw error }
        world.abort("\(error)")
    }
}
