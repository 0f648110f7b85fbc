import FoveaDispatch

extension Devices {
    /// The name that picks the fastest backend for this machine: the default of `FOVEA_DEVICE`
    /// and `--device`, also accepted as `check:auto`.
    public static let automaticName = FoveaEnvironment.automaticDeviceName

    /// The backend `auto` stands for on this machine: `dispatch` where one of its native
    /// micro-kernels runs (AVX-512, or AVX2 with FMA), `openblas` elsewhere, where `dispatch`
    /// would fall back to its portable Swift kernel, which is slower than OpenBLAS. The
    /// measurements behind the choice are in Docs/Benchmarks.md.
    public static var automaticBackend: String { automaticChoice.backend }

    /// Why `auto` chose `automaticBackend`, for the line every command starts with, e.g.
    /// `auto: dispatch, its avx512 12×32 (C) micro-kernel runs on this CPU`.
    public static var automaticReason: String { automaticChoice.reason }

    private static var automaticChoice: (backend: String, reason: String) {
        let kernel = GEMMKernel.best
        if kernel.isNative {
            return ("dispatch", "auto: dispatch, its \(kernel.name) micro-kernel runs on this CPU")
        }
        return ("openblas", "auto: openblas, this CPU has neither AVX-512 nor AVX2+FMA for dispatch's micro-kernels")
    }

    /// `name` with `auto` (also inside `check:auto`) replaced by `automaticBackend`; other names unchanged.
    static func resolvingAutomatic(_ name: String) -> String {
        let lowercased = name.lowercased()
        if lowercased == automaticName { return automaticBackend }
        if lowercased == checkPrefix + automaticName { return checkPrefix + automaticBackend }
        return name
    }

    /// The line a program prints first so that a user sees which backend runs, e.g.
    /// `device: dispatch (2 threads) → naive (auto: dispatch, its avx512 12×32 (C) micro-kernel runs on this CPU)`.
    /// `requested` is the name that was asked for (`auto` when nothing was).
    public static func selectionLine(_ device: any Device, requested: String) -> String {
        let automatic = requested.lowercased() == automaticName || requested.lowercased() == checkPrefix + automaticName
        return "device: \(describe(device))" + (automatic ? " (\(automaticReason))" : "")
    }
}
