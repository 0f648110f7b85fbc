import FoveaCore

extension ProfilingDevice {
    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, geometry: Conv2DGeometry) -> Tensor {
        timedConvolution("conv2dForward", .forward, geometry) {
            $0.conv2dForward(input: input, weight: weight, bias: bias, geometry: geometry)
        }
    }

    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue,
                              geometry: Conv2DGeometry) -> Tensor {
        timedConvolution(epilogue.forwardName(prologue: false, residual: false), .forward, geometry) {
            $0.conv2dForward(input: input, weight: weight, bias: bias, epilogue: epilogue, geometry: geometry)
        }
    }

    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, residual: Tensor, epilogue: ConvolutionEpilogue,
                              geometry: Conv2DGeometry) -> Tensor {
        timedConvolution(epilogue.forwardName(prologue: false, residual: true), .forward, geometry) {
            $0.conv2dForward(input: input, weight: weight, bias: bias, residual: residual, epilogue: epilogue, geometry: geometry)
        }
    }

    public func conv2dForward(input: Tensor, prologue: BatchNormPrologue, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue,
                              geometry: Conv2DGeometry) -> Tensor {
        timedConvolution(epilogue.forwardName(prologue: true, residual: false), .forward, geometry) {
            $0.conv2dForward(input: input, prologue: prologue, weight: weight, bias: bias, epilogue: epilogue, geometry: geometry)
        }
    }

    public func conv2dForward(parts: [Tensor], prologue: BatchNormPrologue, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue,
                              geometry: Conv2DGeometry) -> Tensor {
        timedConvolution(epilogue == .none ? "batchNorm+conv2dForward(parts)" : "batchNorm+conv2dForward(parts)+\(epilogue)", .forward, geometry) {
            $0.conv2dForward(parts: parts, prologue: prologue, weight: weight, bias: bias, epilogue: epilogue, geometry: geometry)
        }
    }

    public var keepsPreparedWeights: Bool { subject.keepsPreparedWeights }

    public func conv2dForward(input: Tensor, prologue: BatchNormPrologue?, weight: Tensor, outputScale: Tensor, bias: Tensor?,
                              residual: Tensor?, epilogue: ConvolutionEpilogue, geometry: Conv2DGeometry) -> Tensor {
        timedConvolution(epilogue.forwardName(prologue: prologue != nil, residual: residual != nil), .forward, geometry) {
            $0.conv2dForward(input: input, prologue: prologue, weight: weight, outputScale: outputScale, bias: bias,
                             residual: residual, epilogue: epilogue, geometry: geometry)
        }
    }

    public func conv2dBackwardData(gradOutput: Tensor, weight: Tensor, geometry: Conv2DGeometry) -> Tensor {
        timedConvolution("conv2dBackwardData", .backwardData, geometry) {
            $0.conv2dBackwardData(gradOutput: gradOutput, weight: weight, geometry: geometry)
        }
    }

    public func conv2dBackwardData(gradOutput: Tensor, weight: Tensor, geometry: Conv2DGeometry, adding: Tensor) -> Tensor {
        timedConvolution("conv2dBackwardData+residual", .backwardData, geometry) {
            $0.conv2dBackwardData(gradOutput: gradOutput, weight: weight, geometry: geometry, adding: adding)
        }
    }

    public func conv2dBackwardFilter(gradOutput: Tensor, input: Tensor, geometry: Conv2DGeometry) -> Conv2DFilterGradients {
        timedConvolution("conv2dBackwardFilter", .backwardFilter, geometry) {
            $0.conv2dBackwardFilter(gradOutput: gradOutput, input: input, geometry: geometry)
        }
    }

    /// Times one convolution pass, recorded with the algorithm the subject's plan runs and the
    /// pass's `2·N·K·(C/groups)·R·S·P·Q` FLOPs.
    func timedConvolution<R>(_ operation: String, _ pass: ConvolutionPass, _ g: Conv2DGeometry, _ body: (any Device) -> R) -> R {
        timed(operation, .convolution(pass, algorithm: Self.plannedAlgorithm(of: subject, for: g, pass: pass)),
              shapes: Self.describe(g), flops: g.flops, body)
    }

    /// The algorithm `device` (or the device it delegates convolutions to) plans for `pass` of
    /// `g`; nil for a device without a planner (`naive`).
    static func plannedAlgorithm(of device: any Device, for g: Conv2DGeometry, pass: ConvolutionPass) -> ConvolutionAlgorithm? {
        if let planning = device as? any ConvolutionPlanning { return try? planning.convolutionPlan(for: g, pass: pass).algorithm }
        if let wrapper = device as? any ConvolutionDelegating { return plannedAlgorithm(of: wrapper.convolutionSubject, for: g, pass: pass) }
        return nil
    }

    /// E.g. `8×64×56×56 → 8×256×56×56, 1×1` or `1×3×224×224 → 1×64×112×112, 7×7/2`.
    static func describe(_ g: Conv2DGeometry) -> String {
        let stride = g.options.stride == 1 ? "" : "/\(g.options.stride)"
        let groups = g.groups == 1 ? "" : ", groups \(g.groups)"
        return "\(dims(g.inputShape)) → \(dims(g.outputShape)), \(g.kernelHeight)×\(g.kernelWidth)\(stride)\(groups)"
    }
}
