/// Per-image transforms on `[C, H, W]` tensors, as torchvision's: resize (bilinear), centre
/// crop, per-channel normalisation, and the training augmentations random crop with padding and
/// horizontal flip.
public enum ImageTransforms {
    /// Bilinear resize to `height × width` (align-corners false, as PyTorch's default).
    public static func resize(_ image: Tensor, height: Int, width: Int) -> Tensor {
        let (c, h, w) = (image.shape[0], image.shape[1], image.shape[2])
        var output = Tensor(zeros: [c, height, width])
        let scaleY = Float(h) / Float(height), scaleX = Float(w) / Float(width)
        image.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                for oy in 0..<height {
                    let sy = max((Float(oy) + 0.5) * scaleY - 0.5, 0)
                    let y0 = min(Int(sy), h - 1), y1 = min(y0 + 1, h - 1)
                    let fy = sy - Float(y0)
                    for ox in 0..<width {
                        let sx = max((Float(ox) + 0.5) * scaleX - 0.5, 0)
                        let x0 = min(Int(sx), w - 1), x1 = min(x0 + 1, w - 1)
                        let fx = sx - Float(x0)
                        for channel in 0..<c {
                            let plane = channel * h * w
                            let top = x[plane + y0 * w + x0] * (1 - fx) + x[plane + y0 * w + x1] * fx
                            let bottom = x[plane + y1 * w + x0] * (1 - fx) + x[plane + y1 * w + x1] * fx
                            y[(channel * height + oy) * width + ox] = top * (1 - fy) + bottom * fy
                        }
                    }
                }
            }
        }
        return output
    }

    /// Resizes so the shorter side is `size`, keeping the aspect ratio (torchvision's `Resize(int)`).
    public static func resizeShorterSide(_ image: Tensor, to size: Int) -> Tensor {
        let (h, w) = (image.shape[1], image.shape[2])
        if h <= w { return resize(image, height: size, width: max(1, (w * size + h / 2) / h)) }
        return resize(image, height: max(1, (h * size + w / 2) / w), width: size)
    }

    /// The `height × width` window at (top, left); positions outside the image are zero.
    public static func crop(_ image: Tensor, top: Int, left: Int, height: Int, width: Int) -> Tensor {
        let (c, h, w) = (image.shape[0], image.shape[1], image.shape[2])
        var output = Tensor(zeros: [c, height, width])
        image.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                for channel in 0..<c {
                    for oy in 0..<height {
                        let iy = top + oy
                        guard iy >= 0 && iy < h else { continue }
                        for ox in 0..<width {
                            let ix = left + ox
                            guard ix >= 0 && ix < w else { continue }
                            y[(channel * height + oy) * width + ox] = x[(channel * h + iy) * w + ix]
                        }
                    }
                }
            }
        }
        return output
    }

    /// The central `height × width` window (torchvision's `CenterCrop`).
    public static func centerCrop(_ image: Tensor, height: Int, width: Int) -> Tensor {
        let top = Int(((Double(image.shape[1] - height)) / 2).rounded())
        let left = Int(((Double(image.shape[2] - width)) / 2).rounded())
        return crop(image, top: top, left: left, height: height, width: width)
    }

    /// `(x − mean[c]) / std[c]` per channel.
    public static func normalize(_ image: Tensor, mean: [Float], standardDeviation: [Float]) -> Tensor {
        let (c, plane) = (image.shape[0], image.shape[1] * image.shape[2])
        fatalUnless(mean.count == c && standardDeviation.count == c, "normalize: \(c) channels need \(c) means and deviations")
        var output = image
        output.withUnsafeMutableBufferPointer { x in
            for channel in 0..<c {
                for i in 0..<plane { x[channel * plane + i] = (x[channel * plane + i] - mean[channel]) / standardDeviation[channel] }
            }
        }
        return output
    }

    /// Mirrors left and right.
    public static func horizontalFlip(_ image: Tensor) -> Tensor {
        let (c, h, w) = (image.shape[0], image.shape[1], image.shape[2])
        var output = Tensor(zeros: image.shape)
        image.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                for row in 0..<(c * h) { for col in 0..<w { y[row * w + col] = x[row * w + (w - 1 - col)] } }
            }
        }
        return output
    }
}

/// Training augmentation: a random crop of the original size from the image padded by `padding`
/// zeros on each side, then a horizontal flip with probability `flipProbability`
/// (torchvision's `RandomCrop(size, padding)` + `RandomHorizontalFlip`).
///
/// No augmentation is `.none`, or `nil` where an `Augmentation` is expected
/// (`DataLoader(data, batchSize: 64, augmentation: nil)`): the nil literal means "none" rather
/// than the parameter being optional, because an `Augmentation?` parameter would make `.none`
/// resolve to `Optional.none` with a compiler warning.
public struct Augmentation: Sendable, ExpressibleByNilLiteral {
    public var padding: Int
    public var flipProbability: Float

    public init(padding: Int = 0, flipProbability: Float = 0) {
        self.padding = padding
        self.flipProbability = flipProbability
    }

    public static let none = Augmentation()

    /// `nil` is `.none`: no crop, no flip.
    public init(nilLiteral: ()) { self.init() }

    public func apply(_ image: Tensor, using generator: inout SeededGenerator) -> Tensor {
        var result = image
        if padding > 0 {
            let top = Int(generator.next() % UInt64(2 * padding + 1)) - padding
            let left = Int(generator.next() % UInt64(2 * padding + 1)) - padding
            result = ImageTransforms.crop(result, top: top, left: left, height: image.shape[1], width: image.shape[2])
        }
        if flipProbability > 0 && generator.nextUnitFloat() < flipProbability {
            result = ImageTransforms.horizontalFlip(result)
        }
        return result
    }
}
