import Fovea
import FoveaTestSupport
import Testing

@Suite("Convolution geometry and argument errors")
struct ConvGeometryTests {
    /// The output size from the formula equals the number of valid window positions counted directly.
    @Test(arguments: [1, 2, 3], [0, 1, 2, 3])
    func outputSizeMatchesCountedWindows(stride: Int, padding: Int) {
        for dilation in 1...3 {
            for kernel in 1...5 {
                for input in 1...12 {
                    let arithmetic = ConvolutionArithmetic(input: input, kernel: kernel, stride: stride, padding: padding, dilation: dilation)
                    var counted = 0
                    var start = -padding
                    while start + dilation * (kernel - 1) <= input - 1 + padding {
                        counted += 1
                        start += stride
                    }
                    #expect(arithmetic.output == counted, "input \(input) kernel \(kernel) stride \(stride) padding \(padding) dilation \(dilation)")
                }
            }
        }
    }

    @Test func explanationSpellsOutTheArithmetic() {
        let a = ConvolutionArithmetic(input: 13, kernel: 5, stride: 1, padding: 0, dilation: 1)
        #expect(a.explanation == "(13 + 2·0 − 1·(5−1) − 1)/1 + 1 = 9")
    }

    @Test func geometryComputesShapesAndFlops() throws {
        let g = try Conv2DGeometry(inputShape: [2, 6, 10, 12], weightShape: [4, 3, 3, 5],
                                   options: Conv2DOptions(stride: Size2D(height: 2, width: 1), padding: Size2D(height: 1, width: 2), groups: 2))
        #expect(g.outputShape == [2, 4, 5, 12])
        #expect(g.columnRows == 3 * 3 * 5)
        #expect(g.flops == 2 * 2 * 4 * 45 * 60)
    }

    private func message(_ body: () throws -> Void) -> String {
        do { try body() } catch let error as FoveaError { return error.message } catch { return "unexpected \(error)" }
        return "no error"
    }

    @Test func negativePaddingIsRejected() {
        let text = message {
            _ = try Conv2DGeometry(inputShape: [1, 1, 5, 5], weightShape: [1, 1, 3, 3], options: Conv2DOptions(padding: -1), name: "conv1")
        }
        #expect(text.contains("conv1") && text.contains("padding must be ≥ 0") && text.contains("-1"), "\(text)")
    }

    @Test func zeroStrideIsRejected() {
        let text = message { _ = try Conv2DGeometry(inputShape: [1, 1, 5, 5], weightShape: [1, 1, 3, 3], options: Conv2DOptions(stride: 0)) }
        #expect(text.contains("stride must be ≥ 1, got 0"), "\(text)")
    }

    @Test func kernelLargerThanPaddedInputIsRejected() {
        let text = message {
            _ = try Conv2DGeometry(inputShape: [1, 1, 4, 9], weightShape: [1, 1, 5, 3], options: Conv2DOptions(padding: 0), name: "conv3")
        }
        #expect(text.contains("conv3") && text.contains("kernel height 5") && text.contains("padded input height 4"), "\(text)")
        #expect(text.contains("(4 + 2·0 − 1·(5−1) − 1)/1 + 1"), "\(text)")
        let dilated = message {
            _ = try Conv2DGeometry(inputShape: [1, 1, 9, 5], weightShape: [1, 1, 3, 3], options: Conv2DOptions(dilation: 3))
        }
        #expect(dilated.contains("kernel width 7") && dilated.contains("padded input width 5"), "\(dilated)")
    }

    @Test func channelsNotDivisibleByGroupsAreRejected() {
        let text = message {
            _ = try Conv2DGeometry(inputShape: [1, 6, 5, 5], weightShape: [4, 2, 3, 3], options: Conv2DOptions(groups: 4))
        }
        #expect(text.contains("input channels 6") && text.contains("groups 4"), "\(text)")
        let outputs = message {
            _ = try Conv2DGeometry(inputShape: [1, 4, 5, 5], weightShape: [3, 2, 3, 3], options: Conv2DOptions(groups: 2))
        }
        #expect(outputs.contains("output channels 3") && outputs.contains("groups 2"), "\(outputs)")
    }

    @Test func weightChannelMismatchNamesBothShapes() {
        let text = message {
            _ = try Conv2DGeometry(inputShape: [1, 32, 8, 8], weightShape: [16, 64, 3, 3], options: Conv2DOptions(), name: "conv3")
        }
        #expect(text.contains("conv3") && text.contains("expects 64 input channels") && text.contains("has 32"), "\(text)")
        #expect(text.contains("1×32×8×8") && text.contains("16×64×3×3"), "\(text)")
    }

    @Test func wrongRankIsRejected() {
        let text = message { _ = try Conv2DGeometry(inputShape: [3, 8, 8], weightShape: [1, 3, 3, 3], options: Conv2DOptions()) }
        #expect(text.contains("input must be 4-D") && text.contains("3×8×8"), "\(text)")
    }

    @Test func biasAndGradientShapesAreChecked() {
        let device = TestDevices.naive
        let input = Tensor(zeros: [1, 2, 5, 5])
        let weight = Tensor(zeros: [3, 2, 3, 3])
        let bias = message { _ = try device.conv2d(input, weight: weight, bias: Tensor(zeros: [2]), name: "stem") }
        #expect(bias.contains("stem") && bias.contains("bias must have shape 3") && bias.contains("got 2"), "\(bias)")
        let gradient = message {
            _ = try device.conv2dGradientInput(gradOutput: Tensor(zeros: [1, 3, 4, 4]), weight: weight, inputShape: input.shape)
        }
        #expect(gradient.contains("1×3×3×3") && gradient.contains("1×3×4×4"), "\(gradient)")
    }

    @Test func matmulChecksInnerDimensions() {
        let text = message { _ = try TestDevices.naive.matmul(Tensor(zeros: [2, 3]), Tensor(zeros: [4, 5])) }
        #expect(text.contains("2×3") && text.contains("4×5"), "\(text)")
    }
}

