import Foundation
import Testing

/// A failing rank never leaves the others hanging: the job ends non-zero, soon, with a message
/// naming the rank.
@Suite struct FaultTests {
    /// Rank 1 of 3 is killed (SIGKILL) in the middle of training with synchronized batch norm:
    /// `mpirun` sees it die, ends the others and names it.
    @Test func aKilledRankEndsTheJob() throws {
        let job = try MPIJob.run(ranks: 3, ["kill", "rank=1", "step=2"], timeout: 120)
        #expect(job.status != 0)
        #expect(job.seconds < 60, "took \(job.seconds) s")
        #expect(job.output.contains("rank 1") && job.output.contains("signal 9"), "\(job.output)")
    }

    /// Rank 1 of 2 never joins the allreduce: rank 0 gives up after FOVEA_MPI_TIMEOUT (3 s),
    /// names the collective and itself, and aborts the job, which ends rank 1 too.
    @Test func aCollectiveTimesOut() throws {
        let job = try MPIJob.run(ranks: 2, ["hang", "rank=1"], environment: ["FOVEA_MPI_TIMEOUT": "3"], timeout: 120)
        #expect(job.status != 0)
        #expect(job.seconds < 60, "took \(job.seconds) s")
        #expect(job.output.contains("rank 0 of 2: allreduce (sum) of the drill's values did not complete within 3 s (FOVEA_MPI_TIMEOUT)"), "\(job.output)")
        #expect(!job.output.contains("rank 1: done"), "the hung rank went on: \(job.output)")
    }

    /// Rank 1 of 3 throws: it aborts the job with its error, and the others do not wait for it.
    @Test func aRankThatThrowsAbortsTheJob() throws {
        let job = try MPIJob.run(ranks: 3, ["throw", "rank=1"], timeout: 120)
        #expect(job.status != 0)
        #expect(job.seconds < 60, "took \(job.seconds) s")
        #expect(job.output.contains("fovea: rank 1 of 3: rank 1 could not read its data (injected by the drill); aborting the job"), "\(job.output)")
    }

    /// Rank 2 of 3 built another model: every rank stops with an error naming rank 2, before any
    /// weights are broadcast.
    @Test func ranksWithDifferentModelsAreAnError() throws {
        let job = try MPIJob.run(ranks: 3, ["mismatch", "rank=2"], timeout: 120)
        #expect(job.status != 0)
        #expect(job.output.contains("the model's parameter and buffer names and shapes differ from rank 0's on rank(s) 2"), "\(job.output)")
    }

    /// A rank 3 s late, with FOVEA_MPI_TIMEOUT far beyond what a `Duration` holds (1e300 s):
    /// the others wait for it (past the first 2 s of busy polling) and the job succeeds — it
    /// used to trap (exit 132) converting the timeout.
    @Test func aLateRankIsWaitedForUnderAHugeTimeout() throws {
        let job = try MPIJob.run(ranks: 2, ["late", "rank=1"], environment: ["FOVEA_MPI_TIMEOUT": "1e300"], timeout: 120)
        #expect(job.status == 0, "\(job.output)")
        #expect(job.lines(startingWith: "rank ").filter { $0.hasSuffix(": done") }.count == 2, "\(job.output)")
    }
}
