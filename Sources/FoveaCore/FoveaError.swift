/// An error the environment or the caller's data caused: a wrong shape, an invalid argument,
/// an unknown device name, a corrupt file. Programmer misuse inside the library traps instead.
///
/// The `message` is written for a person: it names the operation or layer and gives the
/// expected and the actual values.
public struct FoveaError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Broad classes of failure, so callers can react without parsing the message.
    public enum Kind: String, Sendable {
        case invalidArgument
        case shapeMismatch
        case unknownDevice
        case io
        case corruptFile
        case numerical
        /// A collective between processes failed or timed out (FoveaDistributed).
        case distributed
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    public static func invalidArgument(_ message: String) -> FoveaError { FoveaError(.invalidArgument, message) }
    public static func shapeMismatch(_ message: String) -> FoveaError { FoveaError(.shapeMismatch, message) }
}
