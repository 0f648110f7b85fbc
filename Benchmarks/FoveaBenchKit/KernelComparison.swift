import Fovea
import FoveaOpenBLAS

/// Single-thread GEMM rate of the Dispatch backend's two micro-kernels (C with AVX2+FMA, and the
/// portable Swift SIMD kernel) beside OpenBLAS on one thread, on a square problem. This is the
/// measurement behind the choice of a C micro-kernel (Docs/Backends.md).
public func compareKernels(size: Int, runs: Int, peak: MachinePeak) -> [[String]] {
    let a = Tensor.randomNormal([size, size], seed: 11)
    let b = Tensor.randomNormal([size, size], seed: 12)
    let c = TensorBox(Tensor(zeros: [size, size]))
    let candidates: [(String, SerialGEMM)] = [
        ("dispatch C avx2-fma", PackedGEMM.serial),
        ("dispatch Swift SIMD16", PackedGEMM.portable),
        ("cblas_sgemm", OpenBLAS.sgemm),
    ]
    let flops = 2 * Double(size) * Double(size) * Double(size)
    OpenBLAS.useSingleThread()
    return candidates.map { name, gemm in
        var times: [Double] = []
        for run in 0...runs {
            peak.waitUntilQuiet(threads: 1)
            let t = Statistics.seconds {
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        c.tensor.withUnsafeMutableBufferPointer { pc in
                            gemm(false, false, size, size, size, 1, pa.baseAddress!, size, pb.baseAddress!, size, 0, pc.baseAddress!, size)
                        }
                    }
                }
            }
            if run > 0 { times.append(t) }  // the first call is a warm-up
        }
        let rate = flops / Statistics.median(times) / 1e9
        return [name, String(format: "%.1f", rate), String(format: "%.0f%%", rate / peak.perCore * 100)]
    }
}

/// A tensor that closures can mutate.
final class TensorBox {
    var tensor: Tensor
    init(_ tensor: Tensor) { self.tensor = tensor }
}
