import FoveaCore

/// A device's GEMM micro-kernel run straight on operands already in its panel layouts, for
/// Winograd's α² products `M_ξ = U_ξ · V_ξ`: the filter transform writes U in the kernel's A
/// layout (kept across calls), the input transform writes V in its B layout, so no GEMM packs
/// anything. (With the device's serial GEMM instead, every tile block packed each ξ's U again —
/// K × C values for 32–96 tiles — which is what made Winograd lose on small outputs.)
package struct WinogradPanelGEMM: Sendable {
    /// `(a, filterRows, firstRow, rows, depth, b, columns, c, ldc)`:
    /// `C[0..<rows, 0..<columns] = A[firstRow..<firstRow+rows, 0..<depth] · B`, where A is a
    /// `filterRows × depth` operand in the A layout of `WinogradPlan.filterOffset` (`firstRow` a
    /// multiple of `panels.rows`) and B is `depth × columns` in panels of `panels.columns` columns
    /// (panel j at `b + j·depth·panels.columns`, row p of it at `+ p·panels.columns`). C is
    /// overwritten. The reduction over the depth must not depend on `rows`, `firstRow` or `columns`.
    package typealias Multiply = @Sendable (
        _ a: UnsafePointer<Float>, _ filterRows: Int, _ firstRow: Int, _ rows: Int, _ depth: Int,
        _ b: UnsafePointer<Float>, _ columns: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) -> Void

    package let panels: WinogradPanels
    package let multiply: Multiply

    package init(panels: WinogradPanels, multiply: @escaping Multiply) {
        self.panels = panels
        self.multiply = multiply
    }
}
