import CMPI
import Fovea
import Foundation

/// The processes (ranks) of an MPI job, and the collectives between them: barrier, broadcast,
/// allreduce (blocking and started in the background) and allgather.
///
///     let world = try Communicator.world()        // MPI_Init on first use
///     var gradient = Tensor(…)
///     try world.allreduce(&gradient)              // the element-wise sum over all ranks
///     if world.rank == 0 { print("\(world.size) ranks") }
///
/// **Errors.** A failing MPI call is a `FoveaError` of kind `.distributed` naming the call, what
/// it moved and the rank. A collective that other ranks do not join within `timeout` seconds
/// (`FOVEA_MPI_TIMEOUT`, default 300) throws the same kind of error instead of hanging; a job
/// then ends with `abort(_:)`, which stops every rank.
///
/// **Threads.** MPI runs with MPI_THREAD_SERIALIZED: the communicator takes a lock around every
/// MPI call that starts or tests a collective, so the training thread and a progress thread
/// (`DataParallel.CommunicationProgress.thread`) may both use it. Every rank must call the same
/// collectives in the same order with matching sizes, as in MPI.
public final class Communicator: @unchecked Sendable {
    /// This process's index in the job, 0 ..< `size`.
    public let rank: Int
    /// The number of processes in the job.
    public let size: Int
    /// This process's index among the processes on the same host.
    public let localRank: Int
    /// The number of the job's processes on this host (threads per rank default to cores ÷ this).
    public let localSize: Int
    /// Seconds a collective waits for the other ranks before it throws.
    public var timeout: Double

    let handle: MPI_Comm
    /// Held around every MPI call after initialisation (MPI_THREAD_SERIALIZED).
    private let callLock = NSLock()

    /// The default of `timeout` when `FOVEA_MPI_TIMEOUT` is unset.
    public static let defaultTimeout: Double = 300

    /// The communicator of every process of the job (`MPI_COMM_WORLD`), initialising MPI on the
    /// first call. Run under `mpirun`; started alone, a process is a job of one rank.
    /// - Throws: `.distributed` when MPI does not start; `.invalidArgument` for an invalid
    ///   `FOVEA_MPI_TIMEOUT`.
    public static func world(environment: [String: String] = FoveaEnvironment.process) throws -> Communicator {
        let timeout = try FoveaEnvironment.collectiveTimeout.positiveNumber(FoveaEnvironment.collectiveTimeout.text(in: environment)) ?? defaultTimeout
        try MPIRuntime.start()
        return try Communicator(handle: fovea_mpi_comm_world(), timeout: timeout)
    }

    private init(handle: MPI_Comm, timeout: Double) throws {
        self.handle = handle
        self.timeout = timeout
        var rank: Int32 = 0, size: Int32 = 0
        try MPICall.check(MPI_Comm_set_errhandler(handle, fovea_mpi_errors_return()), "MPI_Comm_set_errhandler", rank: nil)
        try MPICall.check(MPI_Comm_rank(handle, &rank), "MPI_Comm_rank", rank: nil)
        try MPICall.check(MPI_Comm_size(handle, &size), "MPI_Comm_size", rank: Int(rank))
        self.rank = Int(rank)
        self.size = Int(size)
        var local: MPI_Comm? = fovea_mpi_comm_null()
        try MPICall.check(MPI_Comm_split_type(handle, fovea_mpi_comm_type_shared(), rank, fovea_mpi_info_null(), &local),
                          "MPI_Comm_split_type (the ranks on this host)", rank: Int(rank))
        var localRank: Int32 = 0, localSize: Int32 = 1
        MPI_Comm_rank(local, &localRank)
        MPI_Comm_size(local, &localSize)
        MPI_Comm_free(&local)
        self.localRank = Int(localRank)
        self.localSize = Int(localSize)
    }

    /// `rank r of n`, as errors and logs name this process.
    public var name: String { "rank \(rank) of \(size)" }

    /// Ends MPI for this process (`MPI_Finalize`). Every rank calls it once, after its last
    /// collective; `mpirun` reports a rank that exits without it as failed.
    public static func finalize() { MPIRuntime.finish() }

    /// Stops every rank of the job (`MPI_Abort`) after printing `message` with this rank's name to
    /// standard error; `mpirun` then exits with `code`. For an error one rank cannot recover from:
    /// the others would otherwise wait in their next collective.
    public func abort(_ message: String, code: Int32 = 1) -> Never {
        let text = message.hasPrefix(name) ? message : "\(name): \(message)"
        FileHandle.standardError.write(Data("fovea: \(text); aborting the job\n".utf8))
        MPI_Abort(handle, code)
        exit(code)
    }

    /// Runs `body`, which calls MPI, while no other thread of this process does.
    func serialized<R>(_ body: () throws -> R) rethrows -> R {
        callLock.lock()
        defer { callLock.unlock() }
        return try body()
    }

    /// Waits until every rank has called `barrier`.
    public func barrier(_ label: String = "barrier") throws {
        var request: MPI_Request? = fovea_mpi_request_null()
        try MPICall.check(serialized { MPI_Ibarrier(handle, &request) }, "MPI_Ibarrier (\(label))", rank: rank)
        try PendingCollective(request: request, operation: label, communicator: self).wait()
    }
}

/// Turning MPI return codes into errors.
enum MPICall {
    /// Throws `.distributed` naming `call` and the rank unless `code` is MPI_SUCCESS.
    static func check(_ code: Int32, _ call: String, rank: Int?) throws {
        guard code != fovea_mpi_success() else { return }
        let who = rank.map { "rank \($0): " } ?? ""
        throw FoveaError(.distributed, "\(who)\(call) failed: \(MPIRuntime.errorText(code))")
    }
}
