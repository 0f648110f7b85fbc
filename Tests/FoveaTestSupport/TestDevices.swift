import Fovea
import Testing

/// A device with a label for parameterised test names.
public struct LabeledDevice: CustomTestStringConvertible, CustomStringConvertible, Sendable {
    public let label: String
    public let device: any Device
    public init(_ label: String, _ device: any Device) {
        self.label = label
        self.device = device
    }
    public var description: String { label }
    public var testDescription: String { label }
}

/// The backend matrix every cross-backend test runs over. Nothing is skipped silently: if a
/// backend cannot be built, the test that asked for it fails.
public enum TestDevices {
    /// The reference.
    public static let naive = NaiveDevice()

    /// The accelerated backends at two threads, plus variants at three threads with a tiny
    /// per-worker workspace (4 KiB), so that the im2col tiling paths — several tiles per image,
    /// channel blocks — are exercised on small test shapes, and variants that take the Winograd
    /// path for every eligible (3×3 stride-1) convolution however small: F(4×4) with the default
    /// budget, and F(2×2) with a 128 KiB budget, which splits the output channels into chunks.
    public static let accelerated: [LabeledDevice] = [
        LabeledDevice("dispatch ×2", DispatchDevice(threads: 2, fallback: naive)),
        LabeledDevice("openblas ×2", OpenBLASDevice(threads: 2, fallback: DispatchDevice(threads: 2, fallback: naive))),
        LabeledDevice("dispatch ×3, 4 KiB tiles", DispatchDevice(threads: 3, fallback: naive, workspaceBytesPerWorker: 4096)),
        LabeledDevice("openblas ×3, 4 KiB tiles", OpenBLASDevice(threads: 3, fallback: naive, workspaceBytesPerWorker: 4096)),
        LabeledDevice("dispatch ×2, Winograd F(4×4) always", DispatchDevice(threads: 2, fallback: naive, winograd: .always)),
        LabeledDevice("openblas ×3, Winograd F(2×2) always, 128 KiB",
                      OpenBLASDevice(threads: 3, fallback: naive, workspaceBytesPerWorker: 128 << 10, winograd: .always, winogradTileSize: .f2x2)),
    ]

    /// Every backend including the reference.
    public static var all: [LabeledDevice] { [LabeledDevice("naive", naive)] + accelerated }
}
