import FoveaCore

/// One operation whose subject output disagreed with the reference beyond the tolerance.
public struct CheckViolation: Sendable, CustomStringConvertible {
    /// The checking device's name, e.g. `check:openblas`.
    public var device: String
    /// The reference's name, e.g. `naive`.
    public var reference: String
    /// The layer (`OperationScope.current`) or `CheckReport.outsideLayers`.
    public var layer: String
    /// The operation, e.g. `conv2dBackwardFilter`.
    public var operation: String
    /// The operands' and results' shapes, e.g. `input 8×3×32×32, weight 16×3×3×3 → 8×16×32×32`.
    public var shapes: String
    /// The output that was furthest off, e.g. `weight gradient`.
    public var output: String
    public var discrepancy: Discrepancy
    public var tolerance: CheckTolerance

    /// Names the layer, the operation, the shapes, the output and both errors.
    public var message: String {
        "\(device): layer '\(layer)', op \(operation) (\(shapes)): \(output) differs from \(reference) by "
            + "\(discrepancy), above the tolerance \(Discrepancy.format(tolerance.relative)) "
            + "(relative to max(max |reference|, \(Discrepancy.format(tolerance.absoluteFloor))); set \(CheckTolerance.environmentVariable) to change it)"
    }

    public var description: String { message }

    /// The violation as the error a layer throws.
    public var error: FoveaError { FoveaError(.numerical, message) }
}
