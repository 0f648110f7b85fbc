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
    /// channel blocks — are exercised on small test shapes, and a Dispatch variant whose GEMM
    /// blocks are tiny (every block edge of the GEMM and of the fused convolution packing).
    public static let accelerated: [LabeledDevice] = [
        LabeledDevice("dispatch ×2", DispatchDevice(threads: 2, fallback: naive)),
        LabeledDevice("openblas ×2", OpenBLASDevice(threads: 2, fallback: DispatchDevice(threads: 2, fallback: naive))),
        LabeledDevice("dispatch ×3, 4 KiB tiles", DispatchDevice(threads: 3, fallback: naive, workspaceBytesPerWorker: 4096)),
        LabeledDevice("openblas ×3, 4 KiB tiles", OpenBLASDevice(threads: 3, fallback: naive, workspaceBytesPerWorker: 4096)),
        LabeledDevice("dispatch ×3, tiny GEMM blocks", DispatchDevice(threads: 3, fallback: naive, workspaceBytesPerWorker: 4096,
                                                                      kernel: tinyBlocks)),
    ]

    /// The best micro-kernel with cache blocks of one register tile in rows, 5 in depth and two
    /// tiles in columns, so that small test shapes cross every block edge of the Dispatch GEMM
    /// and of its convolution packing.
    public static let tinyBlocks = GEMMKernel.best.withBlocking(mc: GEMMKernel.best.mr, kc: 5, nc: 2 * GEMMKernel.best.nr)

    /// Every backend including the reference.
    public static var all: [LabeledDevice] { [LabeledDevice("naive", naive)] + accelerated }
}
