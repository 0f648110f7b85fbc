/// What one convolution pass of one geometry runs, chosen once by the device's
/// `ConvolutionPlanner` (and kept in its `ConvolutionPlanCache`): the algorithm, the workspace
/// bytes one call allocates, and the tile parameters the driver needs.
public struct ConvolutionPlan: Equatable, Sendable, CustomStringConvertible {
    public var algorithm: ConvolutionAlgorithm
    public var pass: ConvolutionPass
    /// The bytes one call allocates beyond its inputs and outputs (within the device's workspace
    /// limit, except where a driver documents otherwise).
    public var workspaceBytes: Int
    /// For `winograd2` and `winograd4`: the tile blocking, made for the forward geometry (for
    /// backward-data, for `WinogradConvolution.backwardDataGeometry(g)`) at the device's thread count.
    /// Package access: the blocking is the Winograd driver's business, not a user's.
    package var winograd: WinogradPlan?
    /// Whether the algorithm was forced (`ConvolutionAlgorithmOverride`) rather than chosen by the rules.
    public var forced: Bool

    public init(algorithm: ConvolutionAlgorithm, pass: ConvolutionPass, workspaceBytes: Int, forced: Bool = false) {
        self.init(algorithm: algorithm, pass: pass, workspaceBytes: workspaceBytes, winograd: nil, forced: forced)
    }

    /// A plan with the Winograd tile blocking its driver runs.
    package init(algorithm: ConvolutionAlgorithm, pass: ConvolutionPass, workspaceBytes: Int, winograd: WinogradPlan?,
                 forced: Bool = false) {
        self.algorithm = algorithm
        self.pass = pass
        self.workspaceBytes = workspaceBytes
        self.winograd = winograd
        self.forced = forced
    }

    /// `forward: winograd4, 1179648 bytes`.
    public var description: String { "\(pass): \(algorithm)\(forced ? " (forced)" : ""), \(workspaceBytes) bytes" }
}
