import Fovea
import Testing

@Suite("Pooling geometry and argument errors")
struct PoolGeometryTests {
    private func message(_ body: () throws -> Void) -> String {
        do { try body() } catch let error as FoveaError { return error.message } catch { return "unexpected \(error)" }
        return "no error"
    }

    /// P = (13 + 2·1 − 1·(3−1) − 1)/2 + 1 = 7, Q = (8 + 0 − 2·(2−1) − 1)/1 + 1 = 6; stride defaults to the kernel.
    @Test func outputShapeFollowsTheArithmetic() throws {
        let g = try Pool2DGeometry(
            inputShape: [2, 5, 13, 8],
            options: Pool2DOptions(kernel: Size2D(height: 3, width: 2), stride: Size2D(height: 2, width: 1),
                                   padding: Size2D(height: 1, width: 0), dilation: Size2D(height: 1, width: 2)))
        #expect(g.outputShape == [2, 5, 7, 6])
        #expect(Pool2DOptions(kernel: 3).stride == 3)
        #expect(try Pool2DGeometry(inputShape: [1, 1, 9, 9], options: Pool2DOptions(kernel: 3)).outputShape == [1, 1, 3, 3])
    }

    @Test func paddingLargerThanHalfTheKernelIsRejected() {
        let text = message {
            _ = try Pool2DGeometry(inputShape: [1, 1, 8, 8], options: Pool2DOptions(kernel: 3, padding: 2), name: "pool1")
        }
        #expect(text.contains("pool1") && text.contains("padding 2") && text.contains("half the kernel 3"), "\(text)")
        let oneAxis = message {
            _ = try Pool2DGeometry(inputShape: [1, 1, 8, 8], options: Pool2DOptions(kernel: Size2D(height: 4, width: 2), padding: Size2D(height: 2, width: 2)), name: "pool2")
        }
        #expect(oneAxis.contains("pool2") && oneAxis.contains("padding 2") && oneAxis.contains("kernel (4, 2)"), "\(oneAxis)")
    }

    @Test func windowLargerThanThePaddedInputIsRejected() {
        let text = message {
            _ = try Pool2DGeometry(inputShape: [1, 1, 4, 9], options: Pool2DOptions(kernel: Size2D(height: 5, width: 3)), name: "pool3")
        }
        #expect(text.contains("pool3") && text.contains("window height 5") && text.contains("padded input height 4"), "\(text)")
        #expect(text.contains("(4 + 2·0 − 1·(5−1) − 1)/5 + 1"), "\(text)")
        let dilated = message {
            _ = try Pool2DGeometry(inputShape: [1, 1, 9, 5], options: Pool2DOptions(kernel: 3, dilation: 3), name: "pool4")
        }
        #expect(dilated.contains("pool4") && dilated.contains("window width 7") && dilated.contains("padded input width 5"), "\(dilated)")
    }

    @Test func invalidArgumentsAreRejected() {
        let stride = message { _ = try Pool2DGeometry(inputShape: [1, 1, 5, 5], options: Pool2DOptions(kernel: 2, stride: 0), name: "pool5") }
        #expect(stride.contains("pool5") && stride.contains("stride must be ≥ 1, got 0"), "\(stride)")
        let padding = message { _ = try Pool2DGeometry(inputShape: [1, 1, 5, 5], options: Pool2DOptions(kernel: 2, padding: -1)) }
        #expect(padding.contains("padding must be ≥ 0") && padding.contains("-1"), "\(padding)")
        let rank = message { _ = try Pool2DGeometry(inputShape: [3, 5, 5], options: Pool2DOptions(kernel: 2), name: "pool6") }
        #expect(rank.contains("pool6") && rank.contains("4-D") && rank.contains("3×5×5"), "\(rank)")
    }
}
