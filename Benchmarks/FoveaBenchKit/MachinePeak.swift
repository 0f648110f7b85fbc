import CFoveaKernels
import Dispatch
import Fovea

/// The machine's peak FP32 rate, measured with an FMA probe (C, AVX2+FMA), and a gate that waits
/// until every core delivers it before a timed block: on a shared host, a core can run at a
/// fraction of its speed for a while, and timing then says more about the neighbours than about
/// the code.
public struct MachinePeak: Codable, Sendable {
    /// GFLOP/s of one core, and of `threads` cores together.
    public var perCore: Double
    public var allCores: Double
    public var threads: Int

    public init(perCore: Double, allCores: Double, threads: Int) {
        self.perCore = perCore
        self.allCores = allCores
        self.threads = threads
    }

    public static let probeIterations = 1_000_000  // 192 Mflop, ≈ 2 ms per core

    /// GFLOP/s each of `threads` concurrent probes achieved.
    public static func probe(threads: Int, iterations: Int = probeIterations) -> [Double] {
        guard fovea_cpu_has_avx2_fma() != 0 else { return [] }
        let rates = RateBox(count: threads)
        DispatchQueue.concurrentPerform(iterations: threads) { index in
            let start = DispatchTime.now().uptimeNanoseconds
            // The wider of the two vector units: AVX-512 doubles the rate on full-width cores.
            let wide = fovea_cpu_has_avx512f() != 0
            let sink = wide ? fovea_fma_probe_avx512(iterations / 2) : fovea_fma_probe_avx2(iterations)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let flops = wide ? 384 * Double(iterations / 2) : 192 * Double(iterations)
            rates.set(index, sink.isNaN ? 0 : flops / seconds / 1e9)
        }
        return rates.values
    }

    /// The best of several probes, one core alone and all together.
    public static func measure(threads: Int, attempts: Int = 15) -> MachinePeak {
        var single = 0.0, all = 0.0
        for _ in 0..<attempts {
            single = max(single, probe(threads: 1).first ?? 0)
            all = max(all, probe(threads: threads).reduce(0, +))
        }
        return MachinePeak(perCore: single, allCores: all, threads: threads)
    }

    /// Waits (probing) until every one of `threads` cores reaches `fraction` of the per-core peak,
    /// or `timeout` seconds pass. Returns whether the machine was quiet.
    @discardableResult
    public func waitUntilQuiet(threads: Int, fraction: Double = 0.9, timeout: Double = 3) -> Bool {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeout * 1e9)
        while DispatchTime.now().uptimeNanoseconds < deadline {
            let rates = Self.probe(threads: threads, iterations: Self.probeIterations / 4)
            if rates.isEmpty || rates.allSatisfy({ $0 >= fraction * perCore }) { return true }
        }
        return false
    }
}

/// Per-thread results written from inside concurrentPerform (each index by one thread only).
final class RateBox: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<Double>
    private let count: Int
    init(count: Int) {
        self.count = count
        storage = .allocate(capacity: count)
        storage.initialize(repeating: 0, count: count)
    }
    deinit { storage.deallocate() }
    func set(_ index: Int, _ value: Double) { storage[index] = value }
    var values: [Double] { Array(UnsafeBufferPointer(start: storage, count: count)) }
}
