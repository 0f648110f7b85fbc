/// The library's version, as `fovea --version` prints it (semantic versioning: major.minor.patch).
public enum FoveaVersion {
    public static let current = "0.2.0"
}
