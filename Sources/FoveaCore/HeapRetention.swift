#if canImport(Glibc)
import Glibc
#endif

/// How much freed memory the C allocator keeps in the process instead of handing it back to the
/// kernel, set once before Fovea allocates its first tensor (`StoragePool`).
///
/// Why: glibc unmaps a freed block above its mmap threshold, and trims the top of its heap once
/// more than its trim threshold is free there. Both thresholds start low (128 KiB, 256 KiB) and
/// only rise as blocks are freed, so a network's forward pass kept giving memory back and
/// faulting it in again: DenseNet-121 at batch 1 took about 2,200 page faults per forward pass
/// (the block outputs' concatenation, Winograd's outputs, the normalised inputs), each a kernel
/// entry and a page cleared — costlier still under a hypervisor. ONNX Runtime's arena keeps its
/// memory for the same reason.
///
/// Policy: blocks up to 32 MiB (`StoragePool.heapReuseLimit`, glibc's largest automatic
/// threshold) come from the heap, where `malloc` reuses them for any size, and the heap is trimmed
/// only past `StoragePool.capacityBytes` of free memory at its top (256 MiB by default,
/// `FOVEA_TENSOR_CACHE_MB`). With that variable at 0 the C library's defaults stay. This bounds
/// what is kept, not the peak: the peak is what the network needs at once (Docs/Performance.md,
/// "Memory the allocator keeps").
enum HeapRetention {
    /// Applies the policy (once; later calls do nothing). True when the thresholds were set.
    @discardableResult
    static func apply() -> Bool { applied }

    private static let applied: Bool = {
        #if canImport(Glibc)
        guard StoragePool.capacityBytes > 0, let mallopt = cMallopt else { return false }
        let mmap = mallopt(mmapThreshold, Int32(StoragePool.heapReuseLimit))
        let trim = mallopt(trimThreshold, Int32(clamping: StoragePool.capacityBytes))
        return mmap == 1 && trim == 1
        #else
        return false
        #endif
    }()

    #if canImport(Glibc)
    /// glibc's `mallopt` parameters (`<malloc.h>`, which Swift's Glibc module does not import).
    private static let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3

    /// glibc's `int mallopt(int, int)`, looked up at run time (nil with another C library).
    private static var cMallopt: (@convention(c) (Int32, Int32) -> Int32)? {
        guard let symbol = dlsym(nil, "mallopt") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
    }
    #endif
}
