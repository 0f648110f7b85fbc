import FoveaCore
import FoveaKernels

extension WinogradPanelGEMM {
    /// The device's micro-kernel on Winograd's pre-laid-out operands: for each depth block (KC, in
    /// order, so the reduction is that of `PackedGEMM.compute`), each B panel of the tile block
    /// stays in L1 while every A panel of the output-channel block passes it; C tiles are
    /// stored (first block) or accumulated through the kernel's write masks.
    init(kernel: GEMMKernel) {
        let (mr, nr, kc) = (kernel.mr, kernel.nr, kernel.kc)
        let micro = kernel.function
        self.init(panels: WinogradPanels(rows: mr, columns: nr, depth: kc)) { a, filterRows, firstRow, rows, depth, b, columns, c, ldc in
            // A ragged last panel of the rows runs on the kernel's narrower variant (`raggedPanels`; same bits).
            let lastPanel = kernel.function(forRows: (rows - 1) % mr + 1)
            for pc in stride(from: 0, to: depth, by: kc) {
                let length = min(kc, depth - pc)
                let accumulate: Int32 = pc == 0 ? 0 : 1
                let block = a + pc * filterRows + firstRow * length
                for jr in stride(from: 0, to: columns, by: nr) {
                    let panel = b + jr * depth + pc * nr
                    let liveColumns = Int32(min(nr, columns - jr))
                    for ir in stride(from: 0, to: rows, by: mr) {
                        let liveRows = min(mr, rows - ir)
                        let tileKernel = liveRows == mr ? micro : lastPanel
                        tileKernel(length, block + ir * length, panel, c + ir * ldc + jr, ldc, Int32(liveRows), liveColumns, accumulate)
                    }
                }
            }
        }
    }
}
