import FoveaCore

/// Faster replacements a device may supply for `WinogradTiles`' input and output transforms of one
/// tile size (the Dispatch backend passes C ones for AVX-512 and AVX2). They must compute exactly what
/// `WinogradTiles.transformInput` / `transformOutput` compute for that size, except that the
/// input transform need not write the columns from `count` on (the GEMMs never read them).
package struct WinogradTileKernels: Sendable {
    /// `(tiles, x, firstTile, count, v)`, as `WinogradTiles.transformInput`.
    package typealias Input = @Sendable (_ tiles: WinogradTiles, _ x: UnsafePointer<Float>, _ firstTile: Int, _ count: Int,
                                        _ v: UnsafeMutablePointer<Float>) -> Void
    /// `(tiles, products, productStride, firstTile, count, outputs, bias, epilogue, y)`, as `WinogradTiles.transformOutput`.
    package typealias Output = @Sendable (_ tiles: WinogradTiles, _ products: UnsafePointer<Float>, _ productStride: Int, _ firstTile: Int,
                                         _ count: Int, _ outputs: Range<Int>, _ bias: UnsafePointer<Float>,
                                         _ epilogue: ConvolutionEpilogue, _ y: UnsafeMutablePointer<Float>) -> Void

    package let input: Input
    package let output: Output
    /// How many lanes the transforms give the tiles of one tile row: a row of fewer tiles still
    /// costs a whole vector (the AVX-512 ones: 16). Nil where any consecutive tiles share a
    /// vector, across tile rows and images, as in the Swift transforms.
    package let tileRowLanes: Int?

    package init(input: @escaping Input, output: @escaping Output, tileRowLanes: Int? = nil) {
        self.input = input
        self.output = output
        self.tileRowLanes = tileRowLanes
    }
}
