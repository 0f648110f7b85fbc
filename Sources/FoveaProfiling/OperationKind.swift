import FoveaCore

/// What kind of work one device operation is, for grouping a profile: each convolution
/// algorithm and pass on its own, every other operation family as one kind per direction.
public struct OperationKind: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The operation family: `convolution`, `batch norm`, `activation`, `add`, `multiply`,
    /// `concatenate`, `split`, `max pool`, `average pool`, `linear`, `gemm`, `softmax`,
    /// `local response norm`.
    public var family: String
    /// The convolution algorithm the device's plan chose (nil for other families, and for
    /// devices that do not plan, such as `naive`).
    public var algorithm: ConvolutionAlgorithm?
    /// `forward`, `backward`, or for convolutions `backward-data` / `backward-filter`.
    public var direction: String

    public init(family: String, algorithm: ConvolutionAlgorithm? = nil, direction: String) {
        self.family = family
        self.algorithm = algorithm
        self.direction = direction
    }

    /// E.g. `convolution winograd4 forward`, `batch norm backward`.
    public var description: String {
        [family, algorithm?.description, direction].compactMap { $0 }.joined(separator: " ")
    }

    public static func < (a: OperationKind, b: OperationKind) -> Bool { a.description < b.description }

    static func forward(_ family: String) -> OperationKind { OperationKind(family: family, direction: "forward") }
    static func backward(_ family: String) -> OperationKind { OperationKind(family: family, direction: "backward") }

    /// A convolution pass run by `algorithm`.
    static func convolution(_ pass: ConvolutionPass, algorithm: ConvolutionAlgorithm?) -> OperationKind {
        OperationKind(family: "convolution", algorithm: algorithm, direction: pass.description)
    }
}
