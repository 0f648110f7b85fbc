/// Counts of (true class, predicted class) pairs: `counts[truth][prediction]`.
public struct ConfusionMatrix: Sendable, CustomStringConvertible {
    public private(set) var counts: [[Int]]
    public var classNames: [String]

    public init(classes: Int, classNames: [String]? = nil) {
        counts = Array(repeating: Array(repeating: 0, count: classes), count: classes)
        self.classNames = classNames ?? (0..<classes).map(String.init)
    }

    public mutating func add(truth: Int, prediction: Int) { counts[truth][prediction] += 1 }

    /// Adds the arg-max of each row of `logits` `[N, classes]` against `labels`.
    public mutating func add(logits: Tensor, labels: [Int]) {
        let classes = logits.shape[1]
        logits.withUnsafeBufferPointer { z in
            for (row, label) in labels.enumerated() {
                var best = 0
                for c in 1..<classes where z[row * classes + c] > z[row * classes + best] { best = c }
                add(truth: label, prediction: best)
            }
        }
    }

    public var total: Int { counts.joined().reduce(0, +) }
    public var correct: Int { counts.indices.reduce(0) { $0 + counts[$1][$1] } }
    public var accuracy: Double { Double(correct) / Double(max(total, 1)) }

    /// Per class: correct / examples of that class (nil for a class with no examples).
    public var perClassAccuracy: [Double?] {
        counts.indices.map { c in
            let row = counts[c].reduce(0, +)
            return row == 0 ? nil : Double(counts[c][c]) / Double(row)
        }
    }

    /// Per-class accuracy lines, then the matrix with true classes as rows.
    public var description: String {
        let width = max(6, counts.joined().map { String($0).count }.max() ?? 1)
        let nameWidth = classNames.map(\.count).max() ?? 1
        var lines = ["per-class accuracy:"]
        for (c, accuracy) in perClassAccuracy.enumerated() {
            let value = accuracy.map { String(format: "%6.2f%%", $0 * 100) } ?? "     –"
            lines.append("  \(c)  \(classNames[c].padding(toLength: nameWidth, withPad: " ", startingAt: 0))  \(value)")
        }
        lines.append("confusion matrix (rows: true class, columns: predicted):")
        lines.append(String(repeating: " ", count: 4) + counts.indices.map { String($0).leftPadded(to: width) }.joined(separator: " "))
        for (c, row) in counts.enumerated() {
            lines.append(String(c).leftPadded(to: 3) + " " + row.map { String($0).leftPadded(to: width) }.joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
