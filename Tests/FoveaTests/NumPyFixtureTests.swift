import Foundation
import Fovea
import FoveaTestSupport
import Testing

/// Convolution forward and gradients against NumPy, from `Fixtures/conv2d_numpy.json`
/// (written by `Scripts/make_fixtures.py`; regenerate with `python3 Scripts/make_fixtures.py`).
@Suite("NumPy reference values")
struct NumPyFixtureTests {
    struct Document: Decodable {
        var format_version: Int
        var cases: [Case]
    }

    struct Case: Decodable, CustomTestStringConvertible {
        var name: String
        var input_shape: [Int]
        var weight_shape: [Int]
        var stride: [Int]
        var padding: [Int]
        var dilation: [Int]
        var groups: Int
        var input: [Float]
        var weight: [Float]
        var bias: [Float]
        var grad_output: [Float]
        var output_shape: [Int]
        var output: [Float]
        var grad_input: [Float]
        var grad_weight: [Float]
        var grad_bias: [Float]
        var testDescription: String { name }

        var options: Conv2DOptions {
            Conv2DOptions(stride: Size2D(height: stride[0], width: stride[1]),
                          padding: Size2D(height: padding[0], width: padding[1]),
                          dilation: Size2D(height: dilation[0], width: dilation[1]), groups: groups)
        }
    }

    static let supportedVersion = 1

    static func load() throws -> Document {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/conv2d_numpy.json")
        let document = try JSONDecoder().decode(Document.self, from: Data(contentsOf: url))
        guard document.format_version == supportedVersion else {
            throw FoveaError(.corruptFile, "\(url.path): format version \(document.format_version), expected \(supportedVersion); re-run python3 Scripts/make_fixtures.py")
        }
        return document
    }

    @Test func fixtureFileHasCases() throws {
        #expect(try Self.load().cases.count >= 6)
    }

    @Test(arguments: TestDevices.all)
    func everyBackendMatchesNumPy(device: LabeledDevice) throws {
        for c in try Self.load().cases {
            let input = Tensor(shape: Shape(c.input_shape), scalars: c.input)
            let weight = Tensor(shape: Shape(c.weight_shape), scalars: c.weight)
            let bias = Tensor(shape: [c.bias.count], scalars: c.bias)
            let gradOutput = Tensor(shape: Shape(c.output_shape), scalars: c.grad_output)
            let d = device.device
            let output = try d.conv2d(input, weight: weight, bias: bias, options: c.options)
            expectClose(output, Tensor(shape: Shape(c.output_shape), scalars: c.output), absolute: 1e-4, relative: 1e-4, "\(device) \(c.name) forward")
            let gradInput = try d.conv2dGradientInput(gradOutput: gradOutput, weight: weight, inputShape: input.shape, options: c.options)
            expectClose(gradInput, Tensor(shape: input.shape, scalars: c.grad_input), absolute: 1e-4, relative: 1e-4, "\(device) \(c.name) ∂x")
            let filter = try d.conv2dGradientFilter(gradOutput: gradOutput, input: input, weightShape: weight.shape, options: c.options)
            expectClose(filter.weight, Tensor(shape: weight.shape, scalars: c.grad_weight), absolute: 1e-4, relative: 1e-4, "\(device) \(c.name) ∂w")
            expectClose(filter.bias, Tensor(shape: bias.shape, scalars: c.grad_bias), absolute: 1e-4, relative: 1e-4, "\(device) \(c.name) ∂b")
        }
    }
}
