import Foundation

/// A grouped horizontal bar chart of GFLOP/s per layer and engine, as a standalone SVG, for one
/// pass, batch and thread count of a report (several reports can be merged first to put another
/// framework beside Fovea).
public enum SVGChart {
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]

    public static func bars(_ results: [LayerResult], title: String, peak: Double?) -> String {
        let layers = results.map(\.layer).uniqued()
        let engines = results.map(\.engine).uniqued()
        let lookup = Dictionary(results.map { ("\($0.layer)|\($0.engine)", $0.gflops) }, uniquingKeysWith: max)
        let maximum = max(results.map(\.gflops).max() ?? 1, peak ?? 0) * 1.05
        let (labelWidth, plotWidth, barHeight, gap) = (300.0, 520.0, 9.0, 8.0)
        let groupHeight = Double(engines.count) * barHeight + gap
        let top = 50.0
        let height = top + Double(layers.count) * groupHeight + 40
        func x(_ value: Double) -> Double { labelWidth + plotWidth * value / maximum }
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(labelWidth + plotWidth + 140))" height="\(Int(height))" font-family="sans-serif" font-size="10">
        <rect width="100%" height="100%" fill="white"/>
        <text x="10" y="18" font-size="13" font-weight="bold">\(escape(title))</text>

        """
        for (index, engine) in engines.enumerated() {
            let lx = labelWidth + Double(index) * 110
            svg += "<rect x=\"\(lx)\" y=\"28\" width=\"10\" height=\"10\" fill=\"\(palette[index % palette.count])\"/>"
            svg += "<text x=\"\(lx + 14)\" y=\"37\">\(escape(engine))</text>\n"
        }
        for (row, layer) in layers.enumerated() {
            let y0 = top + Double(row) * groupHeight
            svg += "<text x=\"\(labelWidth - 6)\" y=\"\(y0 + groupHeight / 2)\" text-anchor=\"end\">\(escape(layer))</text>\n"
            for (index, engine) in engines.enumerated() {
                guard let value = lookup["\(layer)|\(engine)"] else { continue }
                let y = y0 + Double(index) * barHeight
                svg += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%@\"/>", labelWidth, y, x(value) - labelWidth, barHeight - 1, palette[index % palette.count])
                svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"8\">%.0f</text>\n", x(value) + 3, y + barHeight - 2, value)
            }
        }
        if let peak {
            svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\" stroke-dasharray=\"4 3\"/>", x(peak), top - 4, x(peak), height - 30)
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">peak %.0f GFLOP/s</text>\n", x(peak), height - 16, peak)
        }
        svg += "<text x=\"\(labelWidth + plotWidth / 2)\" y=\"\(height - 4)\" text-anchor=\"middle\">GFLOP/s</text>\n</svg>\n"
        return svg
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}

extension Array where Element: Hashable {
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
