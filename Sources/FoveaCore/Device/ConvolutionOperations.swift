/// 2-D convolution forward and backward (shapes and formulas in `Conv2DGeometry`).
public protocol ConvolutionOperations: DeviceIdentity {
    /// Convolution forward (cross-correlation, as PyTorch):
    /// `y[n,k,p,q] = bias[k] + Σ_{c∈group(k), r, s} x[n,c, p·sh−ph+r·dh, q·sw−pw+s·dw] · w[k,c,r,s]`
    /// (out-of-range input positions read as zero). Returns `geometry.outputShape`.
    func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, geometry: Conv2DGeometry) -> Tensor

    /// Convolution forward with a fused epilogue: `y = epilogue(conv(x, w) + bias)`, element by
    /// element the same as `conv2dForward` followed by the epilogue's activation. The default
    /// (for devices that do not fuse) is exactly that composition; the im2col devices apply the
    /// bias and the activation per output tile while it is still in cache.
    func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue, geometry: Conv2DGeometry) -> Tensor

    /// A residual block's last convolution with its skip connection and activation fused:
    /// `y = epilogue((conv(x, w) + bias) + residual)`, `residual` of `geometry.outputShape`;
    /// element by element the same as `conv2dForward`, then `add(_, residual)`, then the
    /// epilogue's activation. The default (for devices that do not fuse) is exactly that
    /// composition; the Dispatch device adds the residual to each output tile while it is still
    /// in cache.
    func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, residual: Tensor, epilogue: ConvolutionEpilogue,
                       geometry: Conv2DGeometry) -> Tensor

    /// A pre-activation convolution: `y = epilogue(conv(x̂, w) + bias)` with `x̂` the input
    /// normalised and activated by `prologue` (`BatchNormPrologue`); element by element the same
    /// as `batchNormInference(…, activation:)` followed by `conv2dForward(…, epilogue:)`. The
    /// default (for devices that do not fuse) is exactly that composition; the Dispatch device
    /// applies the prologue to a 1×1 convolution's input panels as its GEMM packs them, so `x̂`
    /// is never written to memory.
    func conv2dForward(input: Tensor, prologue: BatchNormPrologue, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue,
                       geometry: Conv2DGeometry) -> Tensor

    /// The same pre-activation convolution of a dense block's features kept in parts:
    /// `conv2dForward(input:prologue:…)` of the channel concatenation of `parts` (each
    /// `[N, Cᵢ, H, W]` with `geometry`'s N, H and W, Σ Cᵢ = `geometry.inputChannels`). The default
    /// (for devices that do not fuse) concatenates, then runs that; the Dispatch device packs a
    /// pointwise convolution's input panels from the parts themselves, so DenseNet's growing
    /// concatenation is never written (`DenseBlock`).
    func conv2dForward(parts: [Tensor], prologue: BatchNormPrologue, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue,
                       geometry: Conv2DGeometry) -> Tensor

    /// Whether the device keeps convolution weights prepared across calls (packed for its GEMM,
    /// transformed for Winograd), keyed by their contents. A convolution that folds an
    /// evaluation-mode batch norm then passes the norm's per-channel scale to
    /// `conv2dForward(input:prologue:weight:outputScale:…)` instead of keeping a folded copy of its
    /// weight, so the prepared form is the only extra copy (`Conv2D`). Default false: the layer
    /// keeps the folded weight itself.
    var keepsPreparedWeights: Bool { get }

    /// A convolution with an evaluation-mode batch norm folded into its weight, given unfolded:
    /// `y = epilogue(conv(x̂, w′) + bias [+ residual])` with `w′[k, c, r, s] = w[k, c, r, s]·outputScale[k]`
    /// (`Tensor.scalingOutputChannels(by:)`, `outputScale` of `[K]`), `x̂` the input through `prologue`
    /// when there is one, and `residual` (of `geometry.outputShape`) added when given. Element by
    /// element the same as computing `w′` first and running the variant without a scale
    /// (`conv2dForward(input:weight:bias:epilogue:…)`, `…residual:…` or `…prologue:…`), which is
    /// the default. The Dispatch device scales while it packs or transforms the weights and keeps
    /// that under the contents of `weight` and `outputScale`, so `w′` is not kept.
    func conv2dForward(input: Tensor, prologue: BatchNormPrologue?, weight: Tensor, outputScale: Tensor, bias: Tensor?,
                       residual: Tensor?, epilogue: ConvolutionEpilogue, geometry: Conv2DGeometry) -> Tensor

    /// Convolution backward with respect to the input: `∂L/∂x` from `∂L/∂y` (`geometry.outputShape`).
    /// Returns a new tensor of `geometry.inputShape` (it does not accumulate into an existing one).
    func conv2dBackwardData(gradOutput: Tensor, weight: Tensor, geometry: Conv2DGeometry) -> Tensor

    /// `conv2dBackwardData` plus `adding` (`geometry.inputShape`), element by element the same as
    /// the two operations one after the other (which is the default): a residual block's input
    /// gradient, the branch's first convolution's ∂x plus the skip path's gradient, in one pass
    /// where the device adds it as it writes ∂x.
    func conv2dBackwardData(gradOutput: Tensor, weight: Tensor, geometry: Conv2DGeometry, adding: Tensor) -> Tensor

    /// Convolution backward with respect to the weight and the bias:
    /// `∂L/∂w[k,c,r,s] = Σ_{n,p,q} ∂L/∂y[n,k,p,q] · x[n,c,…]`, `∂L/∂b[k] = Σ_{n,p,q} ∂L/∂y[n,k,p,q]`.
    func conv2dBackwardFilter(gradOutput: Tensor, input: Tensor, geometry: Conv2DGeometry) -> Conv2DFilterGradients
}

/// The gradients `conv2dBackwardFilter` returns: `weight` of `geometry.weightShape`, `bias` of `[K]`.
public struct Conv2DFilterGradients: Sendable {
    public var weight: Tensor
    public var bias: Tensor

    public init(weight: Tensor, bias: Tensor) {
        self.weight = weight
        self.bias = bias
    }
}

extension ConvolutionOperations where Self: ActivationOperations {
    /// The unfused composition: the device's own convolution, then its own activation.
    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue, geometry: Conv2DGeometry) -> Tensor {
        let output = conv2dForward(input: input, weight: weight, bias: bias, geometry: geometry)
        guard let activation = epilogue.activation else { return output }
        return activationForward(activation, input: output)
    }
}

extension ConvolutionOperations where Self: ActivationOperations & NormalizationOperations {
    /// The unfused composition: the device's own batch norm (and activation), then its convolution.
    public func conv2dForward(input: Tensor, prologue: BatchNormPrologue, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue,
                              geometry: Conv2DGeometry) -> Tensor {
        conv2dForward(input: applying(prologue, to: input), weight: weight, bias: bias, epilogue: epilogue, geometry: geometry)
    }
}

extension ConvolutionOperations where Self: ElementwiseOperations {
    /// The unfused composition: the device's own concatenation, then its pre-activation convolution.
    public func conv2dForward(parts: [Tensor], prologue: BatchNormPrologue, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue,
                              geometry: Conv2DGeometry) -> Tensor {
        conv2dForward(input: concatenateChannels(parts), prologue: prologue, weight: weight, bias: bias, epilogue: epilogue, geometry: geometry)
    }
}

extension ConvolutionOperations where Self: ActivationOperations & ElementwiseOperations {
    /// The unfused composition: the device's own convolution, `add` and activation.
    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, residual: Tensor, epilogue: ConvolutionEpilogue,
                              geometry: Conv2DGeometry) -> Tensor {
        let sum = add(conv2dForward(input: input, weight: weight, bias: bias, geometry: geometry), residual)
        guard let activation = epilogue.activation else { return sum }
        return activationForward(activation, input: sum)
    }
}

extension ConvolutionOperations where Self: NormalizationOperations {
    /// The composition: `w′` computed now, then the variant without a scale.
    public func conv2dForward(input: Tensor, prologue: BatchNormPrologue?, weight: Tensor, outputScale: Tensor, bias: Tensor?,
                              residual: Tensor?, epilogue: ConvolutionEpilogue, geometry: Conv2DGeometry) -> Tensor {
        let folded = weight.scalingOutputChannels(by: outputScale)
        if let residual {
            let x = prologue.map { applying($0, to: input) } ?? input
            return conv2dForward(input: x, weight: folded, bias: bias, residual: residual, epilogue: epilogue, geometry: geometry)
        }
        if let prologue {
            return conv2dForward(input: input, prologue: prologue, weight: folded, bias: bias, epilogue: epilogue, geometry: geometry)
        }
        return conv2dForward(input: input, weight: folded, bias: bias, epilogue: epilogue, geometry: geometry)
    }
}

extension ConvolutionOperations {
    public var keepsPreparedWeights: Bool { false }

    public func conv2dForward(input: Tensor, weight: Tensor, bias: Tensor?, geometry: Conv2DGeometry) -> Tensor {
        delegate("conv2dForward").conv2dForward(input: input, weight: weight, bias: bias, geometry: geometry)
    }

    public func conv2dBackwardData(gradOutput: Tensor, weight: Tensor, geometry: Conv2DGeometry) -> Tensor {
        delegate("conv2dBackwardData").conv2dBackwardData(gradOutput: gradOutput, weight: weight, geometry: geometry)
    }

    public func conv2dBackwardFilter(gradOutput: Tensor, input: Tensor, geometry: Conv2DGeometry) -> Conv2DFilterGradients {
        delegate("conv2dBackwardFilter").conv2dBackwardFilter(gradOutput: gradOutput, input: input, geometry: geometry)
    }
}

extension ConvolutionOperations where Self: ElementwiseOperations {
    /// The unfused composition: the device's own backward-data, then its add.
    public func conv2dBackwardData(gradOutput: Tensor, weight: Tensor, geometry: Conv2DGeometry, adding: Tensor) -> Tensor {
        add(conv2dBackwardData(gradOutput: gradOutput, weight: weight, geometry: geometry), adding)
    }
}
