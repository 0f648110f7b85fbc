import Foundation
import Testing

/// The communicator's collectives under `mpirun`, on 2 and 3 ranks: allreduce (blocking and
/// started in the background; sum, maximum, minimum; Float, Double, Int64), broadcast of tensors
/// and of bytes only the root knows the length of, allgather of different counts, barrier — on
/// sizes 0, 1, 7, 1023 and 7,000,001 (above a 25 MiB gradient bucket). Each rank checks every
/// result against the values it can predict (`CollectiveDrill`).
@Suite struct CollectiveTests {
    @Test(arguments: [2, 3])
    func everyCollectiveGivesThePredictedValues(ranks: Int) throws {
        let job = try MPIJob.run(ranks: ranks, ["collectives"])
        #expect(job.status == 0, "\(job.output)")
        for rank in 0..<ranks {
            #expect(job.output.contains("rank \(rank): collectives ok"), "rank \(rank) did not finish: \(job.output)")
        }
    }
}
