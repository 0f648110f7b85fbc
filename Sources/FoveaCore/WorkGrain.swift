/// How finely the GEMM-based operations (`ParallelGEMM`, `Im2colConvolution`) cut their work —
/// the same at every thread count.
///
/// **Why it must not depend on the thread count.** A cut fixes the arguments of every serial GEMM
/// call: its `m`, `n` and `k`, and which calls accumulate into the same output. OpenBLAS's
/// `cblas_sgemm` rounds some elements differently when only `m` or `n` changes (its edge kernels
/// and blockings sum in other orders; `Scripts/openblas_split_bits.py` shows it). So every cut is
/// a function of the shapes and of `items` alone; the thread count decides only which worker runs
/// which item (`Parallel.forEach` hands them out dynamically), never what an item computes. Then
/// every GEMM call is the same at 1, 2, 3 or 64 threads and so are the results, bit for bit,
/// whatever the serial GEMM does inside.
///
/// **What it costs.** At one thread the work is still cut into about `items` calls (smaller GEMMs
/// than the 4 a thread-dependent cut would make), and on machines with many more than `items / 2`
/// cores a single small image leaves some cores idle (a batch gives at least one item per image).
/// 8 is the cut a thread-dependent rule makes at two threads, so two threads lose nothing; finer
/// cuts cost CPU time at one thread (Docs/Performance.md, "Measurements behind the code").
package enum WorkGrain {
    /// How many items a call is cut into when the shapes allow it: four per worker at two
    /// workers, two at four.
    package static let items = 8
}
