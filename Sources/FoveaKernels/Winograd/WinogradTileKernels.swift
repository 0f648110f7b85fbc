import FoveaCore

/// Faster replacements a device may supply for `WinogradTiles`' input and output transforms of one
/// tile size (the Dispatch backend passes AVX-512 ones). They must compute exactly what
/// `WinogradTiles.transformInput` / `transformOutput` compute for that size, except that the
/// input transform need not write the columns from `count` on (the GEMMs never read them).
package struct WinogradTileKernels: Sendable {
    /// `(tiles, x, firstTile, count, v)`, as `WinogradTiles.transformInput`.
    package typealias Input = @Sendable (_ tiles: WinogradTiles, _ x: UnsafePointer<Float>, _ firstTile: Int, _ count: Int,
                                        _ v: UnsafeMutablePointer<Float>) -> Void
    /// `(tiles, products, rowStride, firstTile, count, outputs, bias, epilogue, y)`, as `WinogradTiles.transformOutput`.
    package typealias Output = @Sendable (_ tiles: WinogradTiles, _ products: UnsafePointer<Float>, _ rowStride: Int, _ firstTile: Int,
                                         _ count: Int, _ outputs: Range<Int>, _ bias: UnsafePointer<Float>,
                                         _ epilogue: ConvolutionEpilogue, _ y: UnsafeMutablePointer<Float>) -> Void

    package let input: Input
    package let output: Output

    package init(input: @escaping Input, output: @escaping Output) {
        self.input = input
        self.output = output
    }
}
