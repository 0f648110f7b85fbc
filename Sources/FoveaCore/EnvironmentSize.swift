/// Parsing of the size variables (`FOVEA_WORKSPACE_MB`, `FOVEA_TENSOR_CACHE_MB`): a whole number
/// of MiB in `allowed`, nothing else (no spaces, units or fractions).
public enum EnvironmentSize {
    /// Bytes for the value `text` of `variable`; nil or empty gives nil (use the default).
    /// - Throws: `FoveaError.invalidArgument` naming the variable, the range, what it sets
    ///   (`meaning`) and the value.
    public static func bytes(_ text: String?, variable: String, allowed: ClosedRange<Int>, meaning: String) throws -> Int? {
        guard let text, !text.isEmpty else { return nil }
        guard text.allSatisfy(\.isASCII), let megabytes = Int(text), allowed.contains(megabytes) else {
            throw FoveaError.invalidArgument(
                "\(variable) must be a whole number of MiB from \(allowed.lowerBound) to \(allowed.upperBound) (\(meaning)), got '\(text)'")
        }
        return megabytes << 20
    }
}
