/// A residual block: `y = relu(branch(x) + shortcut(x))`, with `shortcut` the identity or a
/// projection (PyTorch's `downsample`: 1×1 convolution + batch norm) when the shape changes.
/// `BasicBlock` and `Bottleneck` are ResNet's two kinds; their children carry torchvision's names.
/// With layer fusion on, the shortcut runs first and the branch's last convolution adds it and
/// applies the ReLU in its epilogue where it can (`LayerFusion`).
public class ResidualBlock: Layer {
    /// The main path, in order.
    public let branch: [(name: String, layer: Layer)]
    /// The projection on the skip path, or nil for the identity.
    public let downsample: Sequential?
    /// The activation after the addition.
    public let relu = ReLU()
    /// The branch's last batch norm when the last forward added the skip connection and applied
    /// the ReLU in its pass (training mode, `LayerFusion`): backward then starts there.
    private var residualNorm: BatchNorm2D? {
        (branch.last?.layer as? BatchNorm2D).flatMap { $0.addedResidual ? $0 : nil }
    }

    public init(branch: [(String, Layer)], downsample: Sequential?) {
        self.branch = branch.map { ($0.0, $0.1) }
        self.downsample = downsample
        super.init()
        assignNames(prefix: qualifiedName)
    }

    public override var children: [(name: String, layer: Layer)] {
        branch + (downsample.map { [("downsample", $0)] } ?? []) + [("relu", relu)]
    }

    public override func outputShape(for shape: Shape) throws -> Shape {
        let main = try branch.reduce(shape) { try $1.layer.outputShape(for: $0) }
        let skip = try downsample?.outputShape(for: shape) ?? shape
        guard main == skip else {
            throw shapeError("the residual branch gives \(main) but the skip path gives \(skip); add a downsample projection")
        }
        return main
    }

    public override func forward(_ input: Tensor, device: any Device) throws -> Tensor {
        let skip = try downsample?.scopedForward(input, device: device) ?? input
        let (main, residualAdded) = try LayerFusion.forward(branch, input: input, device: device, residual: (skip, relu))
        if residualAdded { return main }
        guard main.shape == skip.shape else {
            throw shapeError("the residual branch gives \(main.shape) but the skip path gives \(skip.shape)")
        }
        return try relu.scopedForward(device.add(main, skip), device: device)
    }

    /// ∂x = branch′(∂s) + shortcut′(∂s) with ∂s = ∂y·[y > 0]. When the last batch norm added the
    /// skip connection, its backward applies the ReLU's derivative and returns ∂s as well. With
    /// layer fusion on and a convolution first in the branch, that convolution adds the skip
    /// path's gradient as it writes its ∂x (`Conv2D.backward(_:device:adding:)`).
    public override func backward(_ gradOutput: Tensor, device: any Device) throws -> Tensor {
        var remaining = branch[...]
        let gradSum: Tensor
        var gradMain: Tensor
        if let norm = residualNorm {
            (gradMain, gradSum) = try OperationScope.run(norm.displayName, device: device) {
                try norm.backwardWithResidual(gradOutput, device: device)
            }
            remaining = remaining.dropLast()
        } else {
            gradSum = try relu.scopedBackward(gradOutput, device: device)
            gradMain = gradSum
        }
        let gradSkip = try downsample?.scopedBackward(gradSum, device: device) ?? gradSum
        guard try LayerFusion.isEnabled, let first = remaining.first?.layer as? Conv2D else {
            gradMain = try remaining.reversed().reduce(gradMain) { try $1.layer.scopedBackward($0, device: device) }
            return device.add(gradMain, gradSkip)
        }
        gradMain = try remaining.dropFirst().reversed().reduce(gradMain) { try $1.layer.scopedBackward($0, device: device) }
        return try OperationScope.run(first.displayName, device: device) { try first.backward(gradMain, device: device, adding: gradSkip) }
    }

    public override func summaryRows(for shape: Shape) throws -> (rows: [SummaryRow], output: Shape) {
        var rows: [SummaryRow] = []
        var main = shape
        for (_, layer) in branch {
            let (childRows, output) = try layer.summaryRows(for: main)
            rows += childRows
            main = output
        }
        if let downsample {
            rows += try downsample.summaryRows(for: shape).rows
        }
        let output = try outputShape(for: shape)
        rows.append(SummaryRow(name: "\(displayName) (add)", type: "Add", inputShape: main, outputShape: output, parameters: 0,
                               flops: Double(output.count), activationBytes: output.count * MemoryLayout<Float>.stride))
        rows += try relu.summaryRows(for: output).rows
        return (rows, output)
    }
}

/// ResNet's basic block (ResNet-18/34): 3×3 conv (stride s) → BN → ReLU → 3×3 conv → BN, plus the
/// skip path; the projection (1×1 conv stride s → BN) is added when `stride ≠ 1` or the channel
/// count changes. Children as torchvision: conv1, bn1, conv2, bn2, downsample.0/1.
public final class BasicBlock: ResidualBlock {
    public static let expansion = 1

    public init(_ inputChannels: Int, _ channels: Int, stride: Int = 1, seed: UInt64 = 0) throws {
        let projection = stride != 1 || inputChannels != channels
        super.init(
            branch: [
                ("conv1", try Conv2D(inputChannels, channels, kernelSize: 3, stride: Size2D(stride), padding: 1, bias: false, seed: seed)),
                ("bn1", try BatchNorm2D(channels)),
                ("relu1", ReLU()),
                ("conv2", try Conv2D(channels, channels, kernelSize: 3, padding: 1, bias: false, seed: seed &+ 1)),
                ("bn2", try BatchNorm2D(channels)),
            ],
            downsample: projection ? try ResidualBlock.projection(inputChannels, channels, stride: stride, seed: seed &+ 2) : nil)
    }
}

/// ResNet's bottleneck block (ResNet-50/101/152, torchvision's "v1.5": the stride sits on the
/// 3×3 convolution): 1×1 conv → BN → ReLU → 3×3 conv (stride s) → BN → ReLU → 1×1 conv to
/// 4·channels → BN, plus the skip path (projected when the shape changes).
public final class Bottleneck: ResidualBlock {
    public static let expansion = 4

    public init(_ inputChannels: Int, _ channels: Int, stride: Int = 1, seed: UInt64 = 0) throws {
        let outputChannels = channels * Self.expansion
        let projection = stride != 1 || inputChannels != outputChannels
        super.init(
            branch: [
                ("conv1", try Conv2D(inputChannels, channels, kernelSize: 1, bias: false, seed: seed)),
                ("bn1", try BatchNorm2D(channels)),
                ("relu1", ReLU()),
                ("conv2", try Conv2D(channels, channels, kernelSize: 3, stride: Size2D(stride), padding: 1, bias: false, seed: seed &+ 1)),
                ("bn2", try BatchNorm2D(channels)),
                ("relu2", ReLU()),
                ("conv3", try Conv2D(channels, outputChannels, kernelSize: 1, bias: false, seed: seed &+ 2)),
                ("bn3", try BatchNorm2D(outputChannels)),
            ],
            downsample: projection ? try ResidualBlock.projection(inputChannels, outputChannels, stride: stride, seed: seed &+ 3) : nil)
    }
}

extension ResidualBlock {
    /// The skip-path projection: 1×1 convolution with `stride`, no bias, then batch norm.
    static func projection(_ inputChannels: Int, _ outputChannels: Int, stride: Int, seed: UInt64) throws -> Sequential {
        Sequential([
            try Conv2D(inputChannels, outputChannels, kernelSize: 1, stride: Size2D(stride), bias: false, seed: seed),
            try BatchNorm2D(outputChannels),
        ])
    }
}
