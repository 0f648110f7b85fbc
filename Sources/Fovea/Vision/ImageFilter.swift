/// How `ImageFilter` pads: `same` keeps the size at stride 1, `valid` pads nothing, or explicit
/// zero rows/columns on each side.
public enum FilterPadding: Sendable, Equatable, CustomStringConvertible {
    /// `dilation·(kernel − 1)/2` per axis, so that `output = input` at stride 1 and
    /// `output = ⌈input/stride⌉` otherwise. Needs an odd kernel: an even one cannot be padded
    /// symmetrically to keep the size, and is an error.
    case same
    /// No padding: `output = (input − dilation·(kernel − 1) − 1)/stride + 1`.
    case valid
    case explicit(Size2D)

    /// Parses `same`, `valid` or a number of pixels.
    public init(parsing text: String) throws {
        switch text {
        case "same": self = .same
        case "valid": self = .valid
        default:
            guard let value = Int(text), value >= 0 else {
                throw FoveaError.invalidArgument("--padding: expected same, valid or a number ≥ 0, got '\(text)'")
            }
            self = .explicit(Size2D(value))
        }
    }

    public var description: String {
        switch self {
        case .same: "same"
        case .valid: "valid"
        case .explicit(let size): "\(size)"
        }
    }
}

/// Max or average pooling of a filtered image: window `size × size`, stride `size`, no padding.
public struct FilterPooling: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case max, avg }
    public var kind: Kind
    public var size: Int

    public init(_ kind: Kind, size: Int) {
        self.kind = kind
        self.size = size
    }
}

/// Applies one kernel to every channel of a picture with the device's convolution: the image
/// `[C, H, W]` becomes a batch of one `[1, C, H, W]`, the kernel is repeated into a depthwise weight
/// `[C, 1, R, S]` (groups = C), so each channel is filtered on its own, and an optional pooling
/// follows. Per axis:
///
///     output = (input + 2·padding − dilation·(kernel − 1) − 1)/stride + 1          (floor)
public struct ImageFilter: Sendable {
    public var kernel: ImageKernel
    public var stride: Size2D
    public var padding: FilterPadding
    public var dilation: Size2D
    public var pooling: FilterPooling?

    public init(kernel: ImageKernel, stride: Size2D = 1, padding: FilterPadding = .same, dilation: Size2D = 1, pooling: FilterPooling? = nil) {
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.pooling = pooling
    }

    /// The padding in pixels per axis.
    /// - Throws: `.invalidArgument` naming `name` for `same` with an even kernel side.
    public func resolvedPadding(name: String? = nil) throws -> Size2D {
        switch padding {
        case .valid: return 0
        case .explicit(let size): return size
        case .same:
            for (axis, side) in [("height", kernel.rows), ("width", kernel.columns)] where side % 2 == 0 {
                throw FoveaError.invalidArgument(
                    "\(name ?? "kernel \(kernel.name)"): padding 'same' needs an odd kernel, but the kernel is \(kernel.rows)×\(kernel.columns) (even \(axis)); symmetric padding cannot keep the size — give --padding valid or a number")
            }
            return Size2D(height: dilation.height * (kernel.rows - 1) / 2, width: dilation.width * (kernel.columns - 1) / 2)
        }
    }

    /// The convolution's options for an image with `channels` channels (depthwise: groups = channels).
    public func convolutionOptions(channels: Int, name: String? = nil) throws -> Conv2DOptions {
        Conv2DOptions(stride: stride, padding: try resolvedPadding(name: name), dilation: dilation, groups: channels)
    }

    /// Checks, before anything is allocated, that the kernel fits in the padded image
    /// `[C, H + 2·padding, W + 2·padding]` (dilated: `dilation·(kernel − 1) + 1` pixels per axis)
    /// and that the padded and the filtered image fit in memory (`AllocationLimit`; pooling only
    /// shrinks the filtered image).
    /// - Throws: `FoveaError` naming `name`, the kernel and the padded image sizes, or the shape and
    ///   bytes too large to allocate.
    public func checkSizes(channels c: Int, height h: Int, width w: Int, options: Conv2DOptions, name: String) throws {
        let geometry = try Conv2DGeometry(inputShape: [1, c, h, w], weightShape: [c, 1, kernel.rows, kernel.columns], options: options, name: name)
        try AllocationLimit.check([c, h + 2 * options.padding.height, w + 2 * options.padding.width], for: "\(name): the padded image")
        try AllocationLimit.check([1, c, geometry.outputHeight, geometry.outputWidth], for: "\(name): the filtered image")
    }

    /// Filters `pixels` `[C, H, W]` on `device`.
    /// - Parameter name: what error messages name, e.g. the input file and the kernel.
    /// - Throws: `FoveaError` for a kernel larger than the padded image (with both sizes),
    ///   a bad stride, dilation or padding, a padded or filtered image too large to allocate, or a
    ///   pooling window larger than the filtered image.
    public func apply(to pixels: Tensor, device: any Device, name: String = "filter") throws -> FilterResult {
        fatalUnless(pixels.shape.rank == 3, "ImageFilter.apply expects [C, H, W], got \(pixels.shape)")
        let (c, h, w) = (pixels.shape[0], pixels.shape[1], pixels.shape[2])
        let options = try convolutionOptions(channels: c, name: name)
        try checkSizes(channels: c, height: h, width: w, options: options, name: name)
        var depthwise = Tensor(zeros: [c, 1, kernel.rows, kernel.columns])
        depthwise.withUnsafeMutableBufferPointer { weight in
            for channel in 0..<c {
                for (i, value) in kernel.weights.enumerated() { weight[channel * kernel.weights.count + i] = value }
            }
        }
        var output = try device.conv2d(pixels.reshaped(to: [1, c, h, w]), weight: depthwise, options: options, name: name)
        let convolution = (
            height: ConvolutionArithmetic(input: h, kernel: kernel.rows, stride: options.stride.height,
                                          padding: options.padding.height, dilation: options.dilation.height),
            width: ConvolutionArithmetic(input: w, kernel: kernel.columns, stride: options.stride.width,
                                         padding: options.padding.width, dilation: options.dilation.width))
        var poolArithmetic: (height: ConvolutionArithmetic, width: ConvolutionArithmetic)?
        if let pooling {
            let geometry = try Pool2DGeometry(inputShape: output.shape, options: Pool2DOptions(kernel: Size2D(pooling.size)),
                                              name: "\(name): \(pooling.kind.rawValue) pool \(pooling.size)")
            output = pooling.kind == .max
                ? device.maxPool2dForwardValues(input: output, geometry: geometry)
                : device.avgPool2dForward(input: output, geometry: geometry)
            poolArithmetic = (
                ConvolutionArithmetic(input: geometry.inputHeight, kernel: pooling.size, stride: pooling.size, padding: 0, dilation: 1),
                ConvolutionArithmetic(input: geometry.inputWidth, kernel: pooling.size, stride: pooling.size, padding: 0, dilation: 1))
        }
        return FilterResult(values: output.reshaped(to: [c, output.shape[2], output.shape[3]]),
                            convolution: convolution, pooling: poolArithmetic)
    }
}

/// What `ImageFilter.apply` returns: the raw filtered values `[C, P, Q]` (not yet mapped to grey
/// levels) and the output-size arithmetic of the convolution and of the pooling, per axis.
public struct FilterResult: Sendable {
    public var values: Tensor
    public var convolution: (height: ConvolutionArithmetic, width: ConvolutionArithmetic)
    public var pooling: (height: ConvolutionArithmetic, width: ConvolutionArithmetic)?

    /// The picture after `mapping`.
    public func image(mapping: PixelMapping) -> Image { Image(checkedPixels: mapping.apply(to: values)) }
}

/// How filtered values become grey levels in `[0, 255]` (then rounded to the nearest integer when
/// written as PNG). Over the whole image, all channels together, so colours keep their balance:
/// - `clamp`: `y = min(max(x, 0), 255)` — for kernels whose weights sum to 1 (identity, sharpen,
///   blurs), which keep the brightness of flat regions;
/// - `abs`: `y = 255·|x| / max|x|` — for edge detectors (weights sum to 0): flat regions are black,
///   edges of either sign bright;
/// - `rescale`: `y = 255·(x − min) / (max − min)` — for anything else: the full range, zero at
///   some grey in between.
/// A constant image (max = min, or max|x| = 0) maps to 0.
public enum PixelMapping: String, Sendable, CaseIterable {
    case clamp, rescale, abs

    /// `clamp` when the kernel's weights sum to 1, `abs` when they sum to 0, else `rescale`
    /// (within 10⁻⁴).
    public static func automatic(for kernel: ImageKernel) -> PixelMapping {
        let sum = kernel.sum
        if Swift.abs(sum - 1) <= 1e-4 { return .clamp }
        if Swift.abs(sum) <= 1e-4 { return .abs }
        return .rescale
    }

    public func apply(to values: Tensor) -> Tensor {
        var output = values
        let scalars = values.scalars
        output.withUnsafeMutableBufferPointer { y in
            switch self {
            case .clamp:
                for i in y.indices { y[i] = min(max(y[i], 0), 255) }
            case .abs:
                let largest = scalars.reduce(Float(0)) { Swift.max($0, Swift.abs($1)) }
                for i in y.indices { y[i] = largest > 0 ? 255 * Swift.abs(y[i]) / largest : 0 }
            case .rescale:
                let low = scalars.min() ?? 0, high = scalars.max() ?? 0
                for i in y.indices { y[i] = high > low ? 255 * (y[i] - low) / (high - low) : 0 }
            }
        }
        return output
    }
}
