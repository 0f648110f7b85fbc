import Fovea

/// One distinct convolution geometry of a network: the layer to time, named after the first
/// `Conv2D` that has it, and how many `Conv2D` layers of the network share it.
public struct NetworkConvolution: Sendable, Hashable {
    /// The layer to time, e.g. `resnet50 layer2.0.downsample.0 256→512 1×1/2 @56 ×1`: the
    /// network, the first layer's qualified name, `C→K`, `R×R` (`/stride` when > 1, ` p<padding>`
    /// when the padding is not `R/2`), `@` the input side, and `×` the count.
    public var layer: BenchLayer
    /// The zoo name, e.g. `resnet50`.
    public var network: String
    /// The qualified name of the network's first `Conv2D` with this geometry, e.g. `layer2.0.downsample.0`.
    public var firstLayerName: String
    /// How many `Conv2D` layers of the network have this geometry.
    public var count: Int
    /// This geometry's FLOPs × `count` over the FLOPs of all the network's convolutions (0…1).
    public var shareOfNetworkFLOPs: Double
}

/// The convolution layers of zoo networks, for `fovea-bench layers --from-network`: each
/// `Conv2D` of the model (found by `Layer.summary`'s shape inference at `[1, 3, 224, 224]`),
/// deduplicated by geometry (channels, kernel, stride, padding, input side), in forward order.
public enum NetworkConvolutions {
    /// The input side the zoo networks are measured at (torchvision's ImageNet size).
    public static let inputSize = 224

    /// The zoo networks named in `text`, a comma-separated list such as `resnet50,densenet121`.
    /// - Throws: `BenchError` naming `flag`, the bad name and the valid names, or saying the list is empty.
    public static func networks(parsing text: String, flag: String) throws -> [String] {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let valid = ModelZoo.names.joined(separator: ", ")
        guard !names.isEmpty else { throw BenchError("\(flag) needs zoo network names separated by commas; valid: \(valid)") }
        for name in names where !ModelZoo.names.contains(name) {
            throw BenchError("\(flag): unknown network '\(name)'; valid: \(valid)")
        }
        return names
    }

    /// The distinct convolution geometries of the zoo network `name` at `inputSize`×`inputSize`.
    /// - Throws: `BenchError` for an unknown name (listing the valid ones), or for a convolution
    ///   `BenchLayer` cannot express (see `convolutions(of:network:inputSize:)`).
    public static func convolutions(ofZooNetwork name: String, inputSize: Int = inputSize) throws -> [NetworkConvolution] {
        guard ModelZoo.names.contains(name) else {
            throw BenchError("unknown zoo network '\(name)'; valid: \(ModelZoo.names.joined(separator: ", "))")
        }
        return try convolutions(of: ModelZoo.make(name), network: name, inputSize: inputSize)
    }

    /// The distinct convolution geometries of `model` for an input `[1, C, inputSize, inputSize]`,
    /// `C` the input channels of its first `Conv2D`, in the order the convolutions run.
    /// - Throws: the model's shape errors; `BenchError` naming the layer when a convolution has a
    ///   geometry `BenchLayer` cannot express (non-square input or kernel, unequal stride or
    ///   padding per axis, dilation, groups).
    public static func convolutions(of model: Layer, network: String, inputSize: Int) throws -> [NetworkConvolution] {
        let layers = model.namedLayers()
        let convolutions = Dictionary(layers.compactMap { entry in (entry.layer as? Conv2D).map { (entry.name, $0) } },
                                      uniquingKeysWith: { first, _ in first })
        guard let channels = layers.lazy.compactMap({ $0.layer as? Conv2D }).first?.inputChannels else { return [] }
        var distinct: [(geometry: Conv2DGeometry, firstLayerName: String, count: Int)] = []
        var indexOfGeometry: [Conv2DGeometry: Int] = [:]
        for row in try model.summary(inputShape: [1, channels, inputSize, inputSize]).rows {
            guard let convolution = convolutions[row.name] else { continue }
            let geometry = try Conv2DGeometry(inputShape: row.inputShape, weightShape: convolution.weight.shape,
                                              options: convolution.options, name: row.name)
            if let index = indexOfGeometry[geometry] {
                distinct[index].count += 1
            } else {
                indexOfGeometry[geometry] = distinct.count
                distinct.append((geometry, row.name, 1))
            }
        }
        let total = distinct.reduce(0) { $0 + $1.geometry.flops * Double($1.count) }
        return try distinct.map { geometry, firstLayerName, count in
            var layer = try benchLayer(geometry, network: network, layerName: firstLayerName)
            layer.name = name(of: layer, network: network, layerName: firstLayerName, count: count)
            return NetworkConvolution(layer: layer, network: network, firstLayerName: firstLayerName, count: count,
                                      shareOfNetworkFLOPs: geometry.flops * Double(count) / total)
        }
    }

    /// The convolutions of `networks` in order, a geometry already taken from an earlier network
    /// dropped (reported through `duplicate`: the dropped one, the one kept).
    public static func convolutions(ofZooNetworks networks: [String],
                                    duplicate: (NetworkConvolution, NetworkConvolution) -> Void = { _, _ in }) throws -> [NetworkConvolution] {
        var result: [NetworkConvolution] = []
        for network in networks {
            for convolution in try convolutions(ofZooNetwork: network) {
                if let kept = result.first(where: { sameGeometry($0.layer, convolution.layer) }) {
                    duplicate(convolution, kept)
                } else {
                    result.append(convolution)
                }
            }
        }
        return result
    }

    /// `convolutions` without those whose geometry one of `suite`'s layers already has.
    public static func missing(from suite: [BenchLayer], _ convolutions: [NetworkConvolution]) -> [NetworkConvolution] {
        convolutions.filter { convolution in !suite.contains { sameGeometry($0, convolution.layer) } }
    }

    /// Whether `a` and `b` time the same convolution (names aside).
    public static func sameGeometry(_ a: BenchLayer, _ b: BenchLayer) -> Bool {
        guard let first = try? a.geometry(batch: 1), let second = try? b.geometry(batch: 1) else { return false }
        return first == second
    }

    /// The `BenchLayer` of `g` at batch 1, or a `BenchError` naming the layer and what it cannot express.
    static func benchLayer(_ g: Conv2DGeometry, network: String, layerName: String) throws -> BenchLayer {
        let o = g.options
        var unsupported: [String] = []
        if g.inputHeight != g.inputWidth { unsupported.append("a non-square input \(g.inputHeight)×\(g.inputWidth)") }
        if g.kernelHeight != g.kernelWidth { unsupported.append("a non-square kernel \(g.kernelHeight)×\(g.kernelWidth)") }
        if o.stride.height != o.stride.width { unsupported.append("stride \(o.stride) differing per axis") }
        if o.padding.height != o.padding.width { unsupported.append("padding \(o.padding) differing per axis") }
        if o.dilation != Size2D(1) { unsupported.append("dilation \(o.dilation)") }
        if o.groups != 1 { unsupported.append("groups \(o.groups)") }
        let layer = BenchLayer(layerName, g.inputChannels, g.outputChannels, kernel: g.kernelHeight, size: g.inputHeight,
                               stride: o.stride.height, padding: o.padding.height)
        if unsupported.isEmpty, (try? layer.geometry(batch: g.batch)) != g { unsupported.append("a geometry (\(g)) it does not reproduce") }
        guard unsupported.isEmpty else {
            throw BenchError("\(network) \(layerName) (input \(g.inputShape), weight \(g.weightShape)) has \(unsupported.joined(separator: ", ")), which fovea-bench's BenchLayer (square input and kernel, one stride and padding, no dilation or groups) cannot time")
        }
        return layer
    }

    /// `<network> <layer> C→K R×R[/s][ p<padding>] @size ×count`.
    static func name(of layer: BenchLayer, network: String, layerName: String, count: Int) -> String {
        let stride = layer.options.stride.height, padding = layer.options.padding.height
        let kernel = "\(layer.kernel)×\(layer.kernel)" + (stride > 1 ? "/\(stride)" : "") + (padding != layer.kernel / 2 ? " p\(padding)" : "")
        return "\(network) \(layerName) \(layer.inputChannels)→\(layer.outputChannels) \(kernel) @\(layer.size) ×\(count)"
    }
}
