@testable import FoveaDispatch
import FoveaKernels
import Fovea
import Testing

/// `ShiftedImageConvolution.splitIntoPhases`: each channel's sh·sw zero-padded phase planes,
/// Z[(a·sw + b), i, j] = x[sh·i + a − ph, sw·j + b − pw] (0 outside the image), which the
/// shifted-image GEMM, the channel lanes and the shifted-rows backward-filter read. On AVX-512
/// (column strides 1 and 2) by `fovea_phase_plane_avx512`; checked here element by element
/// against the formula, on planes narrower and wider than 16, with paddings larger than the
/// image, and with a column stride of 3 (the loop in Swift).
@Suite("Shifted image phase planes")
struct PhasePlaneTests {
    @Test func everyElementFollowsTheFormula() throws {
        let cases: [(height: Int, width: Int, kernel: Int, stride: Size2D, padding: Size2D)] = [
            (14, 14, 3, 1, 1), (7, 7, 3, 1, 1), (56, 56, 3, 1, 1), (224, 224, 7, 2, 3), (27, 27, 5, 1, 2),
            (13, 13, 3, 1, 1), (5, 3, 3, 1, Size2D(height: 1, width: 4)), (9, 33, 3, 2, 0), (8, 17, 3, Size2D(height: 2, width: 1), 2),
            (11, 40, 3, 2, 1), (6, 20, 4, Size2D(height: 1, width: 3), 1), (1, 1, 1, 2, 0), (3, 50, 11, 2, 5),
        ]
        let shifted = ShiftedImageConvolution(threads: 1, kernel: .best)
        for (index, c) in cases.enumerated() {
            let g = try Conv2DGeometry(inputShape: [1, 1, c.height, c.width], weightShape: [1, 1, c.kernel, c.kernel],
                                       options: Conv2DOptions(stride: c.stride, padding: c.padding))
            let (hz, wz) = (shifted.planeHeight(g), shifted.planeWidth(g))
            let (sh, sw) = (c.stride.height, c.stride.width)
            let (ph, pw) = (c.padding.height, c.padding.width)
            let x = Tensor.randomNormal([c.height * c.width], seed: UInt64(index + 1)).scalars
            // Poisoned, so an element the split does not write shows up.
            var planes = [Float](repeating: .nan, count: sh * sw * hz * wz)
            x.withUnsafeBufferPointer { source in
                planes.withUnsafeMutableBufferPointer { target in
                    ShiftedImageConvolution.splitIntoPhases(source.baseAddress!, geometry: g, planeHeight: hz, planeWidth: wz,
                                                            into: target.baseAddress!)
                }
            }
            var mismatches = 0
            for a in 0..<sh {
                for b in 0..<sw {
                    for i in 0..<hz {
                        for j in 0..<wz {
                            let (row, column) = (sh * i + a - ph, sw * j + b - pw)
                            let inside = row >= 0 && row < c.height && column >= 0 && column < c.width
                            let expected = inside ? x[row * c.width + column] : 0
                            if planes[((a * sw + b) * hz + i) * wz + j].bitPattern != expected.bitPattern { mismatches += 1 }
                        }
                    }
                }
            }
            #expect(mismatches == 0, "\(g): \(mismatches) of \(planes.count) elements differ")
        }
    }

    /// `phasePlane` alone, in C (where the CPU has AVX-512) and in Swift, against the formula on a
    /// poisoned plane: first rows and columns before, inside and past the image (the column-shifted
    /// copies of the shifted-rows backward-filter start inside it), column strides 1–3.
    @Test func onePlaneFollowsTheFormulaInCAndInSwift() {
        var generator = SeededGenerator(seed: 77)
        func pick(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
        for index in 0..<200 {
            let (h, w) = (pick(1...12), pick(1...40))
            let (rowStride, columnStride) = (pick(1...2), pick(1...3))
            let (firstRow, firstColumn) = (pick(-4...h + 1), pick(-5...w + 2))
            let (planeHeight, planeWidth) = (pick(1...14), pick(1...35))
            let x = Tensor.randomNormal([h * w], seed: UInt64(index)).scalars
            for vectorized in GEMMKernel.cpuHasAVX512 ? [false, true] : [false] {
                var plane = [Float](repeating: .nan, count: planeHeight * planeWidth)
                x.withUnsafeBufferPointer { source in
                    plane.withUnsafeMutableBufferPointer { target in
                        ShiftedImageConvolution.phasePlane(source.baseAddress!, height: h, width: w, rowStride: rowStride,
                                                           columnStride: columnStride, firstRow: firstRow, firstColumn: firstColumn,
                                                           planeHeight: planeHeight, planeWidth: planeWidth, into: target.baseAddress!,
                                                           vectorized: vectorized)
                    }
                }
                var mismatches = 0
                for i in 0..<planeHeight {
                    for j in 0..<planeWidth {
                        let (row, column) = (rowStride * i + firstRow, columnStride * j + firstColumn)
                        let expected = row >= 0 && row < h && column >= 0 && column < w ? x[row * w + column] : 0
                        if plane[i * planeWidth + j].bitPattern != expected.bitPattern { mismatches += 1 }
                    }
                }
                #expect(mismatches == 0, "case \(index), vectorized \(vectorized): \(mismatches) elements differ")
            }
        }
    }
}
