import Foundation

/// CSV (RFC 4180: fields with commas, quotes or line breaks are quoted, quotes doubled).
public enum CSVWriter {
    public static func field(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    public static func line(_ fields: [String]) -> String { fields.map(field).joined(separator: ",") }

    /// One row per layer result, then one per network result, each block with its header.
    public static func csv(_ report: BenchReport) -> String {
        func number(_ value: Double?) -> String { value.map { String($0) } ?? "" }
        var lines = [line(["layer", "pass", "engine", "batch", "threads", "runs", "median_ms", "spread", "gflops", "percent_of_peak", "workspace_bytes", "max_relative_error"])]
        for r in report.layers {
            lines.append(line([r.layer, r.pass, r.engine, String(r.batch), String(r.threads), String(r.runs), String(r.medianMilliseconds),
                               String(r.spread), String(r.gflops), number(r.percentOfPeak), r.workspaceBytes.map(String.init) ?? "", number(r.maxRelativeError)]))
        }
        if !report.networks.isEmpty {
            lines.append("")
            lines.append(line(["network", "mode", "engine", "batch", "threads", "runs", "images_per_second", "median_ms", "peak_resident_bytes"]))
            for n in report.networks {
                lines.append(line([n.network, n.mode, n.engine, String(n.batch), String(n.threads), String(n.runs), String(n.imagesPerSecond),
                                   String(n.medianMilliseconds), n.peakResidentBytes.map(String.init) ?? ""]))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
