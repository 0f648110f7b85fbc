import Fovea
import Testing

/// A device with a label for parameterised test names.
public struct LabeledDevice: CustomTestStringConvertible, CustomStringConvertible, Sendable {
    public let label: String
    public let device: any Device
    /// For devices that may run Winograd F(4×4,3×3): its error is absolute, about 1.5e-5·max|y|
    /// at worst on the suite's layers (WinogradAccuracyTests), so agreement tests allow
    /// `winogradErrorPerScale · max|y|` besides their fixed tolerance. 0 for im2col-only devices.
    public let winogradErrorPerScale: Float
    public init(_ label: String, _ device: any Device, winogradErrorPerScale: Float = 0) {
        self.label = label
        self.device = device
        self.winogradErrorPerScale = winogradErrorPerScale
    }

    /// The absolute tolerance for comparing this device's convolution output with `expected`.
    public func absoluteTolerance(_ base: Float, expected: Tensor) -> Float {
        max(base, winogradErrorPerScale * (expected.scalars.map(abs).max() ?? 0))
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
    /// channel blocks — are exercised on small test shapes, variants that take the Winograd
    /// path for every eligible (3×3 stride-1) convolution however small: F(4×4) with the default
    /// budget, and F(2×2) with a 128 KiB budget, which splits the output channels into chunks, and a
    /// Dispatch variant without Winograd whose GEMM blocks are tiny (every block edge of the GEMM
    /// and of the fused convolution packing).
    public static let accelerated: [LabeledDevice] = [
        LabeledDevice("dispatch ×2", DispatchDevice(threads: 2, fallback: naive), winogradErrorPerScale: 5e-5),
        LabeledDevice("openblas ×2", OpenBLASDevice(threads: 2, fallback: DispatchDevice(threads: 2, fallback: naive)), winogradErrorPerScale: 5e-5),
        LabeledDevice("dispatch ×3, 4 KiB tiles", DispatchDevice(threads: 3, fallback: naive, workspaceBytesPerWorker: 4096)),
        LabeledDevice("openblas ×3, 4 KiB tiles", OpenBLASDevice(threads: 3, fallback: naive, workspaceBytesPerWorker: 4096)),
        LabeledDevice("dispatch ×2, Winograd F(4×4) always", DispatchDevice(threads: 2, fallback: naive, winograd: .always), winogradErrorPerScale: 5e-5),
        LabeledDevice("openblas ×3, Winograd F(2×2) always, 128 KiB",
                      OpenBLASDevice(threads: 3, fallback: naive, workspaceBytesPerWorker: 128 << 10, winograd: .always, winogradTileSize: .f2x2), winogradErrorPerScale: 5e-5),
        LabeledDevice("dispatch ×3, tiny GEMM blocks", DispatchDevice(threads: 3, fallback: naive, workspaceBytesPerWorker: 4096,
                                                                      winograd: .never, kernel: tinyBlocks)),
    ]

    /// The best micro-kernel with cache blocks of one register tile in rows, 5 in depth and two
    /// tiles in columns, so that small test shapes cross every block edge of the Dispatch GEMM
    /// and of its convolution packing.
    package static let tinyBlocks = GEMMKernel.best.withBlocking(mc: GEMMKernel.best.mr, kc: 5, nc: 2 * GEMMKernel.best.nr)

    /// Every backend including the reference.
    public static var all: [LabeledDevice] { [LabeledDevice("naive", naive)] + accelerated }
}
