import CMPI

/// A scalar type collectives move, with its MPI datatype.
public protocol CollectiveScalar: Numeric, Sendable {
    static var mpiDatatype: MPI_Datatype { get }
}

extension Float: CollectiveScalar { public static var mpiDatatype: MPI_Datatype { fovea_mpi_float() } }
extension Double: CollectiveScalar { public static var mpiDatatype: MPI_Datatype { fovea_mpi_double() } }
extension Int64: CollectiveScalar { public static var mpiDatatype: MPI_Datatype { fovea_mpi_int64() } }
extension UInt8: CollectiveScalar { public static var mpiDatatype: MPI_Datatype { fovea_mpi_byte() } }

/// How `allreduce` combines the ranks' values element by element.
public enum ReductionOperation: Sendable, CustomStringConvertible {
    case sum, maximum, minimum

    var mpiOperation: MPI_Op {
        switch self {
        case .sum: fovea_mpi_sum()
        case .maximum: fovea_mpi_max()
        case .minimum: fovea_mpi_min()
        }
    }

    public var description: String {
        switch self {
        case .sum: "sum"
        case .maximum: "maximum"
        case .minimum: "minimum"
        }
    }
}
