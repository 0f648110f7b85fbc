/// An aligned text table: the first `leftColumns` columns left-aligned, the rest right-aligned.
public struct TextTable: CustomStringConvertible {
    public var header: [String]
    public var rows: [[String]]
    public var leftColumns: Int

    public init(header: [String], rows: [[String]] = [], leftColumns: Int = 2) {
        self.header = header
        self.rows = rows
        self.leftColumns = leftColumns
    }

    public var description: String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        func line(_ row: [String]) -> String {
            header.indices.map { column -> String in
                let text = column < row.count ? row[column] : ""
                let pad = String(repeating: " ", count: widths[column] - text.count)
                return column < leftColumns ? text + pad : pad + text
            }.joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }
}

extension TextTable {
    /// The table as a Markdown table (for Docs/), numbers right-aligned.
    public var markdown: String {
        func line(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |" }
        let alignment = header.indices.map { $0 < leftColumns ? "---" : "---:" }
        return ([line(header), line(alignment)] + rows.map { line($0 + Array(repeating: "", count: max(0, header.count - $0.count))) })
            .joined(separator: "\n")
    }
}
