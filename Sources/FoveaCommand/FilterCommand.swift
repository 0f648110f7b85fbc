import ArgumentParser
import Fovea
import Foundation

struct FilterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "filter",
        abstract: "Apply a classic or your own kernel to a photo, channel by channel, and write the result as PNG.",
        discussion: """
            Named kernels: \(ImageKernel.classics.map(\.name).joined(separator: ", ")), and gaussian:SIZE:SIGMA \
            (--list-kernels prints their matrices). A matrix: rows separated by ';', numbers by ',' or spaces, \
            e.g. --kernel '1,0,-1;2,0,-2;1,0,-1'; a file: one row per line. The kernel is applied as a \
            cross-correlation (not flipped), each channel on its own, with zero padding.

            Values become grey levels by --mapping: clamp (to [0, 255]; the default for kernels whose weights \
            sum to 1), abs (255·|x|/max|x|; the default when they sum to 0), rescale (min → 0, max → 255; \
            the default otherwise).
            """)

    @OptionGroup var devices: DeviceOptions
    @Option(help: "A named kernel (e.g. sharpen, sobel-x, gaussian:5:1.5) or a matrix such as '1,0,-1;2,0,-2;1,0,-1'.")
    var kernel: String?
    @Option(name: .customLong("kernel-file"), help: "A text file with the kernel: one row per line, numbers separated by spaces or commas.")
    var kernelFile: String?
    @Option(help: "Stride (1 to 2²⁴).")
    var stride: Int = 1
    @Option(help: "Padding: same (keeps the size at stride 1; odd kernels only), valid (none), or a number of pixels (0 to 2²⁴).")
    var padding: String = "same"
    @Option(help: "Dilation (1 to 2²⁴).")
    var dilation: Int = 1
    @Option(help: "Pool afterwards: max or avg (window and stride --pool-size).")
    var pool: String?
    @Option(name: .customLong("pool-size"), help: "Pooling window and stride (1 to 2²⁴).")
    var poolSize: Int = 2
    @Option(help: "How values become grey levels: clamp, abs or rescale (default: by the kernel's sum).")
    var mapping: String?
    @Flag(help: "Convert a colour photo to grey first.")
    var grey = false
    @Option(help: "Resize the photo to this width first (bilinear, keeping the aspect ratio; 1 to 2²⁴).")
    var resize: Int?
    @Flag(name: .customLong("list-kernels"), help: "Print the named kernels and exit.")
    var listKernels = false
    @Argument(help: "The input photo (PNG or JPEG; grey stays grey, colour is filtered per channel).")
    var input: String?
    @Argument(help: "The output PNG.")
    var output: String?

    func validate() throws {
        if listKernels { return }
        guard (kernel == nil) != (kernelFile == nil) else { throw ValidationError("give exactly one of --kernel and --kernel-file") }
        guard input != nil, let output else { throw ValidationError("give the input photo and the output PNG") }
        try OutputPath.check(output, flag: "the output PNG")
        let side = OptionRange.largestImageSide
        try OptionRange.check(resize, 1...side, flag: "--resize")
        try OptionRange.check(stride, 1...side, flag: "--stride")
        try OptionRange.check(dilation, 1...side, flag: "--dilation")
        try OptionRange.check(poolSize, 1...side, flag: "--pool-size")
        if case .explicit(let pixels) = try FilterPadding(parsing: padding) { try OptionRange.check(pixels.height, 0...side, flag: "--padding") }
        guard pool == nil || FilterPooling.Kind(rawValue: pool!) != nil else { throw ValidationError("--pool must be max or avg, got '\(pool!)'") }
        guard mapping == nil || PixelMapping(rawValue: mapping!) != nil else {
            throw ValidationError("--mapping must be clamp, abs or rescale, got '\(mapping!)'")
        }
    }

    func run() throws {
        if listKernels {
            for kernel in ImageKernel.classics {
                print("\(kernel.name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(kernel.rows)×\(kernel.columns)  sum \(ImageKernel.formatted(kernel.sum))  \(kernel)")
            }
            return
        }
        let (input, output) = (self.input!, self.output!)
        let device = try devices.makeDevice()
        let kernel = try loadKernel()
        let filter = ImageFilter(
            kernel: kernel, stride: Size2D(stride), padding: try FilterPadding(parsing: padding), dilation: Size2D(dilation),
            pooling: pool.map { FilterPooling(FilterPooling.Kind(rawValue: $0)!, size: poolSize) })
        var picture = try Image.read(from: URL(fileURLWithPath: input), channels: grey ? .grey : nil)
        let kind = picture.channels == 1 ? "grey" : "RGB"
        var resized = ""
        if let resize, resize != picture.width {
            resized = ", resized from \(picture.width)×\(picture.height)"
            let height = max(1, (picture.height * resize + picture.width / 2) / picture.width)
            try AllocationLimit.check([picture.channels, height, resize], for: "--resize \(resize): the resized image")
            picture = try Image(pixels: ImageTransforms.resize(picture.pixels, height: height, width: resize))
        }
        print("input   \(input): \(picture.width)×\(picture.height) \(kind)\(resized)")
        let matrix = kernel.weights.count <= 25 ? "\(kernel)"
            : "weights \(ImageKernel.formatted(kernel.weights.min()!))…\(ImageKernel.formatted(kernel.weights.max()!))"
        print("kernel  \(kernel.name) \(kernel.rows)×\(kernel.columns) \(matrix), weights sum to \(ImageKernel.formatted(kernel.sum))")
        let result = try filter.apply(to: picture.pixels, device: device, name: "\(input): kernel \(kernel.name)")
        let options = try filter.convolutionOptions(channels: picture.channels)
        print("conv    depthwise (groups \(picture.channels)), stride \(options.stride), padding \(options.padding)\(Int(padding) == nil ? " (\(padding))" : ""), dilation \(options.dilation), device \(Devices.describe(device))")
        print("        output = (input + 2·padding − dilation·(kernel−1) − 1)/stride + 1")
        print("        height: \(result.convolution.height.explanation)")
        print("        width:  \(result.convolution.width.explanation)")
        if let pooling = filter.pooling, let arithmetic = result.pooling {
            print("pool    \(pooling.kind.rawValue) \(pooling.size)×\(pooling.size), stride \(pooling.size)")
            print("        height: \(arithmetic.height.explanation)")
            print("        width:  \(arithmetic.width.explanation)")
        }
        let chosen = mapping.flatMap(PixelMapping.init(rawValue:)) ?? PixelMapping.automatic(for: kernel)
        let values = result.values.scalars
        let image = result.image(mapping: chosen)
        try image.writePNG(to: URL(fileURLWithPath: output))
        print("output  \(output): \(image.width)×\(image.height) \(kind), values \(ImageKernel.formatted(values.min() ?? 0))…\(ImageKernel.formatted(values.max() ?? 0)) mapped by \(chosen.rawValue)\(mapping == nil ? " (weights sum to \(ImageKernel.formatted(kernel.sum)))" : "")")
    }

    func loadKernel() throws -> ImageKernel {
        if let kernelFile { return try ImageKernel.read(from: URL(fileURLWithPath: kernelFile)) }
        let text = kernel!
        let looksLikeMatrix = text.contains(where: { ",; ".contains($0) }) || Float(text.replacingOccurrences(of: "−", with: "-")) != nil
        return looksLikeMatrix ? try ImageKernel.parse(text, source: "--kernel '\(text)'", name: "'\(text)'") : try ImageKernel.named(text)
    }
}
