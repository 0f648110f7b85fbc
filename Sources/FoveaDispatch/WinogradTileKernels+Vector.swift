import CFoveaKernels
import FoveaCore
import FoveaKernels

extension WinogradTileKernels {
    /// The F(4×4) tile transforms in C with AVX-512 (`winograd_avx512.c`): sixteen tiles of a tile
    /// row per vector, patches loaded as whole rows and de-interleaved by shuffles, outputs
    /// interleaved back and stored as whole rows. Bit-identical to `WinogradTiles`' Swift transforms.
    static let avx512 = vector(input: fovea_winograd4_input_avx512, output: fovea_winograd4_output_avx512, tileRowLanes: 16)

    /// The F(2×2) tile transforms, the same way (patches 2 columns apart).
    static let avx512F2x2 = vector(input: fovea_winograd2_input_avx512, output: fovea_winograd2_output_avx512, tileRowLanes: 16)

    /// The F(4×4) tile transforms in C with AVX2 (`winograd_avx2.c`): any eight consecutive tiles
    /// per vector, as the Swift transforms take them, each patch row read as 128-bit pieces and
    /// transposed within lanes. Bit-identical to `WinogradTiles`' Swift transforms.
    static let avx2 = vector(input: fovea_winograd4_input_avx2, output: fovea_winograd4_output_avx2, tileRowLanes: nil)

    /// The F(2×2) tile transforms with AVX2.
    static let avx2F2x2 = vector(input: fovea_winograd2_input_avx2, output: fovea_winograd2_output_avx2, tileRowLanes: nil)

    /// The C transforms for `kernel`'s instruction set, by tile size (empty for the portable kernel:
    /// the Swift transforms).
    static func forKernel(_ kernel: GEMMKernel) -> [WinogradTileSize: WinogradTileKernels] {
        if kernel.isAVX512 { return [.f4x4: .avx512, .f2x2: .avx512F2x2] }
        if kernel.isNative { return [.f4x4: .avx2, .f2x2: .avx2F2x2] }
        return [:]
    }

    typealias CInput = @convention(c) (UnsafePointer<fovea_winograd_tiles>?, UnsafePointer<Float>?, Int, Int32,
                                       UnsafeMutablePointer<Float>?) -> Void
    typealias COutput = @convention(c) (UnsafePointer<fovea_winograd_tiles>?, UnsafePointer<Float>?, Int, Int, Int32, Int, Int32,
                                        UnsafePointer<Float>?, Int32, UnsafeMutablePointer<Float>?) -> Void

    /// The closures around one tile size's pair of C transforms.
    private static func vector(input: CInput, output: COutput, tileRowLanes: Int?) -> WinogradTileKernels {
        WinogradTileKernels(
            input: { tiles, x, firstTile, count, v in
                var layout = fovea_winograd_tiles(tiles)
                input(&layout, x, firstTile, Int32(count), v)
            },
            output: { tiles, products, productStride, firstTile, count, outputs, bias, epilogue, y in
                var layout = fovea_winograd_tiles(tiles)
                let relu: Int32 = switch epilogue {
                case .none: 0
                case .relu: 1
                }
                output(&layout, products, productStride, firstTile, Int32(count), outputs.lowerBound, Int32(outputs.count), bias, relu, y)
            },
            tileRowLanes: tileRowLanes)
    }
}

extension fovea_winograd_tiles {
    init(_ t: WinogradTiles) {
        self.init(channels: Int32(t.channels), height: Int32(t.height), width: Int32(t.width),
                  outputChannels: Int32(t.outputChannels), outputHeight: Int32(t.outputHeight), outputWidth: Int32(t.outputWidth),
                  paddingTop: Int32(t.paddingTop), paddingLeft: Int32(t.paddingLeft),
                  tilesWide: t.tilesWide, tilesPerImage: t.tilesPerImage, paddedWidth: t.paddedWidth, panelWidth: t.panelWidth,
                  inputStride: t.inputStride)
    }
}
