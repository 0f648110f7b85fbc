import Fovea
import FoveaBenchKit
import FoveaKernels
import Testing

/// Every layer of the benchmark suite, at the batches the benchmarks use, plans its im2col
/// workspace within the device's limit — the default 64 MiB and a small 2 MiB — at any thread count.
@Suite("Workspace plans of the layer suite")
struct WorkspacePlanTests {
    @Test(arguments: [Im2colConvolution.defaultWorkspaceLimitBytes, 2 << 20])
    func suiteLayersStayWithinTheLimit(limit: Int) throws {
        var largest = 0
        for threads in [1, 2, 8, 64] {
            let convolution = Im2colConvolution(threads: threads, workspaceLimitBytes: limit, gemm: OpenBLAS.sgemm)
            for layer in LayerSuite.imageNet {
                for batch in [1, 8, 64] {
                    let g = try layer.geometry(batch: batch)
                    for pass in ConvolutionPass.allCases {
                        let bytes = convolution.workspaceBytes(for: g, pass: pass)
                        largest = max(largest, bytes)
                        #expect(bytes <= limit, "\(layer.name) batch \(batch) \(pass), \(threads) threads: \(bytes) B > \(limit) B")
                    }
                }
            }
        }
        #expect(largest > 0, "the suite has layers that need a workspace")
    }
}
