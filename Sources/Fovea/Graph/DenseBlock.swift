/// DenseNet's dense layer (torchvision's `_DenseLayer`): BN → ReLU → 1×1 conv to
/// `bottleneckWidth·growthRate` → BN → ReLU → 3×3 conv to `growthRate` channels. Children:
/// norm1, relu1, conv1, norm2, relu2, conv2 (and dropout when the rate is positive).
public final class DenseLayer: Sequential {
    public init(inputChannels: Int, growthRate: Int, bottleneckWidth: Int = 4, dropRate: Float = 0, seed: UInt64 = 0) throws {
        let width = bottleneckWidth * growthRate
        var layers: [(String, Layer)] = [
            ("norm1", try BatchNorm2D(inputChannels)),
            ("relu1", ReLU()),
            ("conv1", try Conv2D(inputChannels, width, kernelSize: 1, bias: false, seed: seed)),
            ("norm2", try BatchNorm2D(width)),
            ("relu2", ReLU()),
            ("conv2", try Conv2D(width, growthRate, kernelSize: 3, padding: 1, bias: false, seed: seed &+ 1)),
        ]
        if dropRate > 0 { layers.append(("dropout", try Dropout(probability: dropRate, seed: seed &+ 2))) }
        try super.init(named: layers)
    }

    /// The evaluation-mode forward, with fusion on, of the channel concatenation of `parts` (the
    /// block's input and the earlier layers' outputs): norm1 → relu1 → conv1 as one pointwise
    /// convolution that reads the parts (`Conv2D.forward(parts:…)`), then the other children as
    /// `forward` runs them. Any other arrangement of children concatenates first.
    func forward(parts: [Tensor], device: any Device) throws -> Tensor {
        try OperationScope.run(displayName, device: device) {
            let children = self.children
            guard children.count >= 3, let norm = children[0].layer as? BatchNorm2D, let relu = children[1].layer as? ActivationLayer,
                  relu.activation == .relu, let conv = children[2].layer as? Conv2D, conv.kernelSize == Size2D(1),
                  !norm.isTraining, !relu.isTraining, !conv.isTraining
            else { return try forward(device.concatenateChannels(parts), device: device) }
            let shape = Shape([parts[0].shape[0], parts.reduce(0) { $0 + $1.shape[1] }, parts[0].shape[2], parts[0].shape[3]])
            let prologue = try norm.prologue(forShape: shape, activation: .relu)
            relu.recordFusedIntoNextLayer()
            let bottleneck = try OperationScope.run(conv.displayName, device: device) {
                try conv.forward(parts: parts, device: device, epilogue: .none, prologue: prologue)
            }
            return try LayerFusion.forward(Array(children.dropFirst(3)), input: bottleneck, device: device)
        }
    }
}

/// DenseNet's dense block (torchvision's `_DenseBlock`): each layer sees the concatenation of the
/// block's input and every earlier layer's output, and the block returns the concatenation of all
/// of them: `C + layers·growthRate` channels. Children: denselayer1, denselayer2, ….
public final class DenseBlock: Layer {
    public let layers: [DenseLayer]

    public init(layers count: Int, inputChannels: Int, growthRate: Int, bottleneckWidth: Int = 4, dropRate: Float = 0, seed: UInt64 = 0) throws {
        layers = try (0..<count).map { index in
            try DenseLayer(inputChannels: inputChannels + index * growthRate, growthRate: growthRate,
                       bottleneckWidth: bottleneckWidth, dropRate: dropRate, seed: seed &+ UInt64(index) &* 4)
        }
        super.init()
        assignNames(prefix: qualifiedName)
    }

    public override var children: [(name: String, layer: Layer)] {
        layers.enumerated().map { ("denselayer\($0.offset + 1)", $0.element) }
    }

    public override func outputShape(for shape: Shape) throws -> Shape {
        var current = shape
        for layer in layers {
            let new = try layer.outputShape(for: current)
            guard new.rank == 4, new[0] == current[0], new[2] == current[2], new[3] == current[3] else {
                throw shapeError("\(layer.displayName) gives \(new), which cannot be concatenated with \(current)")
            }
            current = [current[0], current[1] + new[1], current[2], current[3]]
        }
        return current
    }

    /// In training, or with fusion off, each layer's input is the concatenation so far, written
    /// out (backward splits it). In evaluation with fusion on, the features stay in parts: each
    /// layer's bottleneck reads them directly (`DenseLayer.forward(parts:)`), and only the
    /// block's output is concatenated, once — instead of copying all earlier features at every
    /// layer (a copy that grows with the square of the layer count).
    public override func forward(_ input: Tensor, device: any Device) throws -> Tensor {
        if !isTraining, try LayerFusion.isEnabled {
            var parts = [input]
            for layer in layers { parts.append(try layer.forward(parts: parts, device: device)) }
            return device.concatenateChannels(parts)
        }
        var features = input
        for layer in layers {
            let new = try layer.scopedForward(features, device: device)
            features = device.concatenateChannels([features, new])
        }
        return features
    }

    /// The output is `[x, f₁, …, f_L]` along channels, and layer i saw `[x, f₁, …, f_{i−1}]`;
    /// walking back from the last layer, each layer's input gradient is added onto the
    /// gradients of the parts it saw.
    public override func backward(_ gradOutput: Tensor, device: any Device) throws -> Tensor {
        var gradFeatures = gradOutput
        for layer in layers.reversed() {
            let total = gradFeatures.shape[1]
            let parts = device.splitChannels(gradFeatures, sizes: [total - layer.growthChannels, layer.growthChannels])
            let gradInput = try layer.scopedBackward(parts[1], device: device)
            gradFeatures = device.add(parts[0], gradInput)
        }
        return gradFeatures
    }

    public override func summaryRows(for shape: Shape) throws -> (rows: [SummaryRow], output: Shape) {
        var rows: [SummaryRow] = []
        var current = shape
        for layer in layers {
            let (childRows, new) = try layer.summaryRows(for: current)
            rows += childRows
            let features = current
            current = [current[0], current[1] + new[1], current[2], current[3]]
            rows.append(SummaryRow(name: "\(layer.displayName) (concat)", type: "Concat", inputShape: features, outputShape: current, parameters: 0,
                                   flops: 0, activationBytes: current.count * MemoryLayout<Float>.stride))
        }
        return (rows, current)
    }
}

extension DenseLayer {
    /// The channels this layer adds (its last convolution's output channels).
    var growthChannels: Int {
        (layers.last { $0.layer is Conv2D }?.layer as? Conv2D)?.outputChannels ?? 0
    }
}

/// DenseNet's transition (torchvision's `_Transition`): BN → ReLU → 1×1 conv → 2×2 average pool
/// with stride 2. Children: norm, relu, conv, pool.
///
/// With layer fusion on (`LayerFusion`), the pooling runs before the convolution, on 4× fewer
/// positions. The two commute exactly in real arithmetic: a 1×1 stride-1 convolution maps each
/// position on its own, `y[k, p] = Σ_c w[k, c]·h[c, p] (+ b[k])`, and an unpadded average pool
/// averages disjoint windows, so `avg_P(y[k, ·]) = Σ_c w[k, c]·avg_P(h[c, ·]) (+ b[k])`. In
/// floats only the order of the sums differs (about 1e-7 relative); backward follows the order
/// forward took.
public final class Transition: Sequential {
    let norm: BatchNorm2D, relu: ReLU, conv: Conv2D, pool: AvgPool2D
    /// Whether the last forward pass pooled before the convolution (backward runs in reverse).
    private var pooledFirst = false

    public init(inputChannels: Int, outputChannels: Int, seed: UInt64 = 0) throws {
        norm = try BatchNorm2D(inputChannels)
        relu = ReLU()
        conv = try Conv2D(inputChannels, outputChannels, kernelSize: 1, bias: false, seed: seed)
        pool = try AvgPool2D(kernelSize: 2, stride: 2)
        try super.init(named: [("norm", norm), ("relu", relu), ("conv", conv), ("pool", pool)])
    }

    /// Whether the convolution maps each position on its own and the pool has no padding, so
    /// they commute (always, as built; checked in case someone changes the children's options).
    var commutes: Bool {
        conv.kernelSize == Size2D(1) && conv.options.stride == Size2D(1) && conv.options.padding == Size2D(0)
            && pool.options.padding == Size2D(0)
    }

    public override func forward(_ input: Tensor, device: any Device) throws -> Tensor {
        pooledFirst = try LayerFusion.isEnabled && commutes
        guard pooledFirst else { return try super.forward(input, device: device) }
        let pooled: Tensor
        if evaluatesOnly {
            // The batch norm and ReLU applied by the pooling as it reads its input: one pass,
            // the normalised features never written (`avgPool2dForward(input:prologue:geometry:)`).
            let prologue = try norm.prologue(for: input, activation: .relu)
            relu.recordFusedIntoNextLayer()
            pooled = try OperationScope.run(pool.displayName, device: device) {
                try pool.forward(input, prologue: prologue, device: device)
            }
        } else {
            let activated = try LayerFusion.forward([("norm", norm), ("relu", relu)], input: input, device: device)
            pooled = try pool.scopedForward(activated, device: device)
        }
        return try conv.scopedForward(pooled, device: device)
    }

    /// Whether every child is in evaluation mode (and the activation is ReLU), so that nothing
    /// needs the normalised features for backward and the pooling may normalise as it reads.
    private var evaluatesOnly: Bool {
        !norm.isTraining && !relu.isTraining && !conv.isTraining && !pool.isTraining && relu.activation == .relu
    }

    public override func backward(_ gradOutput: Tensor, device: any Device) throws -> Tensor {
        guard pooledFirst else { return try super.backward(gradOutput, device: device) }
        let gradActivated = try pool.scopedBackward(try conv.scopedBackward(gradOutput, device: device), device: device)
        return try norm.scopedBackward(try relu.scopedBackward(gradActivated, device: device), device: device)
    }
}
