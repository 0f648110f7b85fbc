import CFoveaKernels
import Fovea
import FoveaKernels
import FoveaOpenBLAS

/// Single-thread GEMM rate of every Dispatch micro-kernel this CPU can run (`GEMMKernel.available`:
/// AVX-512, AVX2+FMA, portable Swift SIMD) beside OpenBLAS on one thread, on a square problem. This
/// is the measurement behind the choice of C micro-kernels (Docs/Backends.md, Docs/Performance.md).
package func compareKernels(size: Int, runs: Int, peak: MachinePeak, extra: [GEMMKernel] = []) -> [[String]] {
    let a = Tensor.randomNormal([size, size], seed: 11)
    let b = Tensor.randomNormal([size, size], seed: 12)
    let c = TensorBox(Tensor(zeros: [size, size]))
    let candidates: [(String, SerialGEMM)] = (GEMMKernel.available + extra).map {
        ("dispatch \($0.name)", PackedGEMM.serial(kernel: $0))
    } + [("cblas_sgemm", OpenBLAS.sgemm)]
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

/// The AVX-512 register tiles and blockings tried against the default (`fovea-bench peak --tuning`),
/// or none when the CPU lacks AVX-512F.
package let avx512Variants: [GEMMKernel] = fovea_cpu_has_avx512f() == 0 ? [] : [
    GEMMKernel(name: "avx512 8×32 kc256 mc256", mr: 8, nr: 32, mc: 256, kc: 256, nc: 4096, instructionSet: .avx512) { kc, a, b, c, ldc, m, n, acc in
        fovea_sgemm_kernel_8x32_avx512(kc, a, b, c, ldc, m, n, acc)
    },
    GEMMKernel(name: "avx512 14×32 kc256 mc238", mr: 14, nr: 32, mc: 238, kc: 256, nc: 4096, instructionSet: .avx512) { kc, a, b, c, ldc, m, n, acc in
        fovea_sgemm_kernel_14x32_avx512(kc, a, b, c, ldc, m, n, acc)
    },
    GEMMKernel(name: "avx512 12×32 kc192 mc240", mr: 12, nr: 32, mc: 240, kc: 192, nc: 4096, instructionSet: .avx512) { kc, a, b, c, ldc, m, n, acc in
        fovea_sgemm_kernel_12x32_avx512(kc, a, b, c, ldc, m, n, acc)
    },
    GEMMKernel(name: "avx512 12×32 kc384 mc120", mr: 12, nr: 32, mc: 120, kc: 384, nc: 4096, instructionSet: .avx512) { kc, a, b, c, ldc, m, n, acc in
        fovea_sgemm_kernel_12x32_avx512(kc, a, b, c, ldc, m, n, acc)
    },
    GEMMKernel(name: "avx512 12×32 kc256 mc240", mr: 12, nr: 32, mc: 240, kc: 256, nc: 4096, instructionSet: .avx512) { kc, a, b, c, ldc, m, n, acc in
        fovea_sgemm_kernel_12x32_avx512(kc, a, b, c, ldc, m, n, acc)
    },
]
