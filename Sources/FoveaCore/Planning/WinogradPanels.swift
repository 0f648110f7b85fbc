/// The panel sizes of a GEMM micro-kernel, as `WinogradPlan` lays out U and V for it: A in panels
/// of `rows` (MR) rows, B in panels of `columns` (NR) columns, the depth in blocks of `depth` (KC).
package struct WinogradPanels: Sendable, Equatable {
    package var rows: Int, columns: Int, depth: Int

    package init(rows: Int, columns: Int, depth: Int) {
        (self.rows, self.columns, self.depth) = (rows, columns, depth)
    }
}
