import CMPI
import Fovea
import Foundation

/// Open MPI's process-wide state: initialised once (`MPI_Init_thread`, on first use of
/// `Communicator.world()`), finalised once at the end of the job. Every MPI call of the process
/// goes through `check`, which turns a failing return code into a `FoveaError`.
enum MPIRuntime {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var state = State.uninitialized

    enum State { case uninitialized, running, finalized }

    /// Initialises MPI if it is not yet (with `MPI_THREAD_SERIALIZED`: one thread at a time calls
    /// MPI — Fovea calls it from the thread that runs the training step).
    /// - Throws: `.distributed` when MPI failed to start or was already finalised.
    static func start() throws {
        lock.lock()
        defer { lock.unlock() }
        switch state {
        case .running: return
        case .finalized: throw FoveaError(.distributed, "MPI was already finalised in this process; a job initialises it once")
        case .uninitialized: break
        }
        for (name, value) in tuning { setenv(name, value, 0) }  // 0: a value the user set wins
        var provided: Int32 = 0
        let code = MPI_Init_thread(nil, nil, Int32(fovea_mpi_thread_serialized()), &provided)
        guard code == fovea_mpi_success() else {
            throw FoveaError(.distributed, "MPI_Init_thread failed: \(errorText(code)); is this an Open MPI job (mpirun)?")
        }
        guard provided >= fovea_mpi_thread_serialized() else {
            throw FoveaError(.distributed, "this Open MPI provides thread level \(provided), Fovea needs MPI_THREAD_SERIALIZED (\(fovea_mpi_thread_serialized()))")
        }
        state = .running
    }

    /// Open MPI settings Fovea makes before `MPI_Init` unless the environment already sets them
    /// (`OMPI_MCA_<name>`, as `mpirun --mca <name> <value>` would):
    /// - `coll_libnbc_iallreduce_algorithm` 1 (ring): the non-blocking allreduce of gradient
    ///   buckets. Open MPI's own choice moved 45 MB between 2 ranks over shared memory in 68 ms,
    ///   the ring in 31 ms (3 ranks: 98 ms and 47 ms); small allreduces stay within microseconds
    ///   (Docs/Distributed.md).
    static let tuning = [("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1")]

    /// Ends MPI for this process (`MPI_Finalize`); every rank calls it once, after its last
    /// collective. Does nothing when MPI never started.
    static func finish() {
        lock.lock()
        defer { lock.unlock() }
        guard state == .running else { return }
        MPI_Finalize()
        state = .finalized
    }

    /// MPI's description of an error code, e.g. `MPI_ERR_TRUNCATE: message truncated`.
    static func errorText(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(fovea_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        guard MPI_Error_string(code, &buffer, &length) == fovea_mpi_success() else { return "MPI error code \(code)" }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
