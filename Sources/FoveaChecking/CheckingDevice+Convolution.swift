import FoveaCore

extension CheckingDevice {
    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, geometry: Conv2DGeometry) -> Tensor {
        checked("conv2dForward", shapes: Self.describe(geometry)) {
            $0.conv2dForward(input: input, weight: weight, bias: bias, geometry: geometry)
        }
    }

    /// The fused forward is checked as its own operation, so a subject's epilogue is compared
    /// with the reference's (not composed from the checked convolution and activation).
    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue,
                              geometry: Conv2DGeometry) -> Tensor {
        checked(epilogue.forwardName(prologue: false, residual: false), shapes: Self.describe(geometry)) {
            $0.conv2dForward(input: input, weight: weight, bias: bias, epilogue: epilogue, geometry: geometry)
        }
    }

    /// The residual forward is checked as its own operation, against the reference's.
    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, residual: Tensor, epilogue: ConvolutionEpilogue,
                              geometry: Conv2DGeometry) -> Tensor {
        checked(epilogue.forwardName(prologue: false, residual: true), shapes: Self.describe(geometry)) {
            $0.conv2dForward(input: input, weight: weight, bias: bias, residual: residual, epilogue: epilogue, geometry: geometry)
        }
    }

    /// The pre-activation forward is checked as its own operation, against the reference's.
    public func conv2dForward(input: Tensor, prologue: BatchNormPrologue, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue,
                              geometry: Conv2DGeometry) -> Tensor {
        checked(epilogue.forwardName(prologue: true, residual: false), shapes: Self.describe(geometry)) {
            $0.conv2dForward(input: input, prologue: prologue, weight: weight, bias: bias, epilogue: epilogue, geometry: geometry)
        }
    }

    /// The pre-activation forward on parts is checked as its own operation, against the reference's.
    public func conv2dForward(parts: [Tensor], prologue: BatchNormPrologue, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue,
                              geometry: Conv2DGeometry) -> Tensor {
        checked(epilogue == .none ? "batchNorm+conv2dForward(parts)" : "batchNorm+conv2dForward(parts)+\(epilogue)", shapes: Self.describe(geometry)) {
            $0.conv2dForward(parts: parts, prologue: prologue, weight: weight, bias: bias, epilogue: epilogue, geometry: geometry)
        }
    }

    /// The subject's: the layers then send it the scaled forward below, which is checked.
    public var keepsPreparedWeights: Bool { subject.keepsPreparedWeights }

    /// The forward with a folded batch norm's scale is checked as its own operation, against the
    /// reference's (which computes `w′` first).
    public func conv2dForward(input: Tensor, prologue: BatchNormPrologue?, weight: Tensor, outputScale: Tensor, bias: Tensor?,
                              residual: Tensor?, epilogue: ConvolutionEpilogue, geometry: Conv2DGeometry) -> Tensor {
        checked(epilogue.forwardName(prologue: prologue != nil, residual: residual != nil), shapes: Self.describe(geometry)) {
            $0.conv2dForward(input: input, prologue: prologue, weight: weight, outputScale: outputScale, bias: bias,
                             residual: residual, epilogue: epilogue, geometry: geometry)
        }
    }

    public func conv2dBackwardData(gradOutput: Tensor, weight: Tensor, geometry: Conv2DGeometry) -> Tensor {
        checked("conv2dBackwardData", shapes: Self.describe(geometry)) {
            $0.conv2dBackwardData(gradOutput: gradOutput, weight: weight, geometry: geometry)
        }
    }

    public func conv2dBackwardData(gradOutput: Tensor, weight: Tensor, geometry: Conv2DGeometry, adding: Tensor) -> Tensor {
        checked("conv2dBackwardData+residual", shapes: Self.describe(geometry)) {
            $0.conv2dBackwardData(gradOutput: gradOutput, weight: weight, geometry: geometry, adding: adding)
        }
    }

    public func conv2dBackwardFilter(gradOutput: Tensor, input: Tensor, geometry: Conv2DGeometry) -> Conv2DFilterGradients {
        checked("conv2dBackwardFilter", shapes: Self.describe(geometry)) {
            $0.conv2dBackwardFilter(gradOutput: gradOutput, input: input, geometry: geometry)
        } outputs: { actual, expected, floor in
            [Output("weight gradient", actual.weight, expected.weight, floor: floor),
             Output("bias gradient", actual.bias, expected.bias, floor: floor,
                    scale: ReductionScale.largestChannelAbsoluteSum(gradOutput))]
        }
    }

    /// E.g. `input 8×3×32×32, weight 16×3×3×3 → 8×16×32×32`.
    static func describe(_ geometry: Conv2DGeometry) -> String {
        "input \(geometry.inputShape), weight \(geometry.weightShape) → \(geometry.outputShape)"
    }
}

extension CheckingDevice: ConvolutionDelegating {
    /// The subject, whose plans decide how its convolutions run (and whether a forced algorithm can).
    public var convolutionSubject: any Device { subject }
}
