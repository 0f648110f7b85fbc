import FoveaCore

extension CheckingDevice {
    /// Compares the pooled values and, exactly, the argmax (ties go to the first position on every
    /// device; a different choice would route gradients elsewhere).
    public func maxPool2dForward(input: Tensor, geometry: Pool2DGeometry) -> MaxPool2DResult {
        checked("maxPool2dForward", shapes: Self.describe(geometry)) {
            $0.maxPool2dForward(input: input, geometry: geometry)
        } outputs: { actual, expected, floor in
            [Output("output", actual.output, expected.output, floor: floor),
             Output("argmax", exact: actual.argmax, expected.argmax)]
        }
    }

    /// Compares the values with the reference's `maxPool2dForward` output.
    public func maxPool2dForwardValues(input: Tensor, geometry: Pool2DGeometry) -> Tensor {
        checked("maxPool2dForwardValues", shapes: Self.describe(geometry)) {
            $0.maxPool2dForwardValues(input: input, geometry: geometry)
        }
    }

    public func maxPool2dBackward(gradOutput: Tensor, argmax: [Int32], geometry: Pool2DGeometry) -> Tensor {
        checked("maxPool2dBackward", shapes: Self.describe(geometry)) {
            $0.maxPool2dBackward(gradOutput: gradOutput, argmax: argmax, geometry: geometry)
        }
    }

    public func avgPool2dForward(input: Tensor, geometry: Pool2DGeometry) -> Tensor {
        checked("avgPool2dForward", shapes: Self.describe(geometry)) {
            $0.avgPool2dForward(input: input, geometry: geometry)
        }
    }

    public func avgPool2dForward(input: Tensor, prologue: BatchNormPrologue, geometry: Pool2DGeometry) -> Tensor {
        checked("batchNorm+avgPool2dForward", shapes: Self.describe(geometry)) {
            $0.avgPool2dForward(input: input, prologue: prologue, geometry: geometry)
        }
    }

    public func avgPool2dBackward(gradOutput: Tensor, geometry: Pool2DGeometry) -> Tensor {
        checked("avgPool2dBackward", shapes: Self.describe(geometry)) {
            $0.avgPool2dBackward(gradOutput: gradOutput, geometry: geometry)
        }
    }

    public func adaptiveAvgPool2dForward(input: Tensor, outputSize: Size2D) -> Tensor {
        checked("adaptiveAvgPool2dForward", shapes: "input \(input.shape) → \(outputSize)") {
            $0.adaptiveAvgPool2dForward(input: input, outputSize: outputSize)
        }
    }

    public func adaptiveAvgPool2dBackward(gradOutput: Tensor, inputShape: Shape) -> Tensor {
        checked("adaptiveAvgPool2dBackward", shapes: "gradOutput \(gradOutput.shape) → \(inputShape)") {
            $0.adaptiveAvgPool2dBackward(gradOutput: gradOutput, inputShape: inputShape)
        }
    }

    /// E.g. `input 8×16×28×28 → 8×16×14×14, kernel 2×2, stride 2×2, …`.
    static func describe(_ geometry: Pool2DGeometry) -> String {
        "input \(geometry.inputShape) → \(geometry.outputShape), \(geometry.options)"
    }
}
