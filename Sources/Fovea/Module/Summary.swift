/// One row of `Layer.summary(inputShape:)`: a leaf layer (or a composite's own operation, such as
/// a residual addition) with its input and output shapes, parameter count, FLOPs and activation memory.
public struct SummaryRow: Sendable {
    public var name: String
    public var type: String
    /// The shape the layer receives, e.g. `[1, 256, 56, 56]` for ResNet-50's `layer2.0.conv1`; for an
    /// addition or a concatenation, its first operand's (the residual branch's output, the features so far).
    public var inputShape: Shape
    public var outputShape: Shape
    public var parameters: Int
    /// 2 × multiply-adds of one forward pass.
    public var flops: Double
    /// Bytes of the output activation (Float32).
    public var activationBytes: Int
}

/// A model's layer table and totals, printable as an aligned text table.
public struct ModelSummary: Sendable, CustomStringConvertible {
    public var inputShape: Shape
    public var rows: [SummaryRow]
    public var outputShape: Shape

    public var totalParameters: Int { rows.reduce(0) { $0 + $1.parameters } }
    public var totalFlops: Double { rows.reduce(0) { $0 + $1.flops } }
    public var totalActivationBytes: Int { rows.reduce(0) { $0 + $1.activationBytes } }

    public var description: String {
        let header = ["layer", "type", "output shape", "params", "FLOPs", "activations"]
        var table = rows.map { row in
            [row.name, row.type, row.outputShape.description, Self.grouped(row.parameters),
             Self.scaled(row.flops, unit: ""), Self.bytes(row.activationBytes)]
        }
        table.append(["total", "", outputShape.description, Self.grouped(totalParameters),
                      Self.scaled(totalFlops, unit: ""), Self.bytes(totalActivationBytes)])
        let widths = header.indices.map { column in ([header] + table).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, text in
                let pad = String(repeating: " ", count: widths[column] - text.count)
                return column < 3 ? text + pad : pad + text
            }.joined(separator: "  ")
        }
        var lines = ["input \(inputShape)", line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        lines += table.dropLast().map(line)
        lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        lines.append(line(table.last!))
        return lines.joined(separator: "\n")
    }

    static func grouped(_ value: Int) -> String {
        let digits = Array(String(value))
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return result
    }

    static func scaled(_ value: Double, unit: String) -> String {
        let units = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
        for (scale, prefix) in units where value >= scale {
            return String(format: "%.2f %@%@", value / scale, prefix, unit)
        }
        return String(format: "%.0f", value)
    }

    static func bytes(_ value: Int) -> String {
        let units: [(Double, String)] = [(1_073_741_824, "GiB"), (1_048_576, "MiB"), (1024, "KiB")]
        for (scale, unit) in units where Double(value) >= scale {
            return String(format: "%.1f %@", Double(value) / scale, unit)
        }
        return "\(value) B"
    }
}

extension Layer {
    /// The layer table for an input of `inputShape`: one row per leaf layer (and per residual
    /// addition or concatenation), with output shapes, parameter counts, FLOPs and activation
    /// memory, and the totals. Throws the first shape mismatch, naming the layer.
    public func summary(inputShape: Shape) throws -> ModelSummary {
        let (rows, output) = try summaryRows(for: inputShape)
        return ModelSummary(inputShape: inputShape, rows: rows, outputShape: output)
    }

    /// The row of a leaf layer for an input of `shape`.
    public func leafRow(for shape: Shape) throws -> (row: SummaryRow, output: Shape) {
        let output = try outputShape(for: shape)
        let row = SummaryRow(
            name: displayName, type: typeName, inputShape: shape, outputShape: output,
            parameters: parameters.reduce(0) { $0 + $1.parameter.value.count },
            flops: flops(for: shape), activationBytes: output.count * MemoryLayout<Float>.stride)
        return (row, output)
    }
}
