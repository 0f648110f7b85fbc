import Foundation

/// Running a chain of layers (a `Sequential`'s children, a residual block's branch) with
/// neighbours fused where the result is the same as running them one by one:
///
/// - `Conv2D → BatchNorm2D → ReLU`, all in evaluation mode: one convolution with the batch norm
///   folded into its weight and bias (`Conv2D+BatchNormFolding.swift`) and ReLU as its epilogue.
/// - `Conv2D → BatchNorm2D`, in evaluation mode: the folded convolution.
/// - `Conv2D → ReLU`, in either mode (same mode for both): the convolution with ReLU as its
///   epilogue (`ConvolutionEpilogue.relu`). In training mode the ReLU keeps its output for
///   backward, which gives the same mask as its input (`y > 0 ⇔ x > 0`).
///
/// - A residual block's branch ending in `Conv2D` (or `Conv2D → BatchNorm2D` in evaluation
///   mode) with no activation of its own: the block's add of the skip connection and its ReLU
///   fused into that convolution's epilogue, `y = relu((conv(x, w′) + b′) + skip)`
///   (`ConvolutionOperations.conv2dForward(…, residual:, …)`), so ResNet's conv3 + bn3 + add +
///   ReLU write the block's output once.
/// - A residual block's branch ending in `BatchNorm2D` in training mode: the block's add and ReLU
///   fused into that batch norm's last pass, `y = relu(BN(x) + skip)`
///   (`batchNormTraining(…, activation:, residual:)`); the ReLU keeps `y`, and its backward
///   applies `[y > 0]` for both the branch and the skip path as without fusion.
/// - `BatchNorm2D → ReLU → Conv2D` in evaluation mode (DenseNet's pre-activation): the batch norm
///   and ReLU applied by the convolution as it reads its input (`conv2dForward(input:prologue:…)`,
///   `BatchNormPrologue`).
/// - Any other `BatchNorm2D → ReLU` not folded into a convolution (every BN → ReLU in training
///   mode), both in the same mode: one element-wise pass (`batchNormInference(…, activation:)`,
///   `batchNormTraining(…, activation:)`). In training mode the batch norm's backward also applies
///   ReLU's derivative (`batchNormBackward(…, activation:, output:)`), and the ReLU's backward
///   hands ∂y on.
///
/// Each layer runs in its own `OperationScope` (`Layer+Scope.swift`); a fused group runs in the
/// scope of its first layer, so the checking device reports a folded convolution under the
/// convolution's name.
///
/// Every layer of a fused group still sees its usual bookkeeping (what backward needs), so
/// `backward` and mode changes behave as without fusion. Results differ from the unfused chain
/// only by float rounding of the folded weights (folding) or not at all (the ReLU epilogues,
/// batch norm with ReLU).
/// `forward(_:device:upTo:)` runs the chain that holds its target one layer at a time (each
/// layer's own forward, fused inside it), so it returns exactly that layer's output.
///
/// Fusion is on by default; `FOVEA_FUSION` = `0`, `off`, `false` or `no` turns it off for the
/// process (`1`, `on`, `true`, `yes` or empty keep it on; any other value is an error when a chain
/// runs, and from `Devices.fromEnvironment`), and `LayerFusion.withoutFusion { … }` for a scope
/// (for comparisons and measurements).
public enum LayerFusion {
    @TaskLocal static var scopedEnabled: Bool?

    /// Whether the value `text` of `FOVEA_FUSION` turns fusion on (`FoveaEnvironment.fusion`);
    /// nil or empty gives the default, on.
    /// - Throws: `.invalidArgument` naming the variable, the value and the valid values.
    public static func setting(_ text: String?) throws -> Bool {
        try FoveaEnvironment.fusion.isOn(text) ?? true
    }

    /// The process's `FOVEA_FUSION` setting, parsed once.
    static let environmentSetting = Result { try setting(FoveaEnvironment.fusion.text()) }

    /// Whether layer chains fuse in the current scope: the scope's choice, else `FOVEA_FUSION`.
    /// - Throws: `.invalidArgument` when no scope chose and `FOVEA_FUSION` has an invalid value.
    public static var isEnabled: Bool {
        get throws { try scopedEnabled ?? environmentSetting.get() }
    }

    /// Runs `body` with fusion off (each layer's own `forward`), for this task and its children.
    public static func withoutFusion<R>(_ body: () throws -> R) rethrows -> R {
        try $scopedEnabled.withValue(false, operation: body)
    }

    /// Runs `body` with fusion on, whatever the environment says.
    public static func withFusion<R>(_ body: () throws -> R) rethrows -> R {
        try $scopedEnabled.withValue(true, operation: body)
    }

    /// `layers` applied in order to `input`, fused as described above.
    static func forward(_ layers: [(name: String, layer: Layer)], input: Tensor, device: any Device) throws -> Tensor {
        try forward(layers, input: input, device: device, residual: nil).output
    }

    /// `layers` applied in order to `input`, fused as described above; and when a `residual`
    /// (a residual block's skip connection and the block's ReLU) is given and the chain ends
    /// with a convolution group without an activation of its own (ResNet's `conv3 → bn3` in
    /// evaluation mode), `relu(chain(x) + skip)` in that convolution's epilogue. Returns whether
    /// the residual was added (else the caller adds it and applies the ReLU).
    static func forward(_ layers: [(name: String, layer: Layer)], input: Tensor, device: any Device,
                        residual: (skip: Tensor, relu: ActivationLayer)?) throws -> (output: Tensor, residualAdded: Bool) {
        guard try isEnabled else { return (try layers.reduce(input) { try $1.layer.scopedForward($0, device: device) }, false) }
        var current = input
        var index = 0
        // A batch norm → ReLU waiting to be applied by the convolution that follows it.
        var prologue: (norm: BatchNorm2D, relu: ActivationLayer)?
        while index < layers.count {
            if let norm = layers[index].layer as? BatchNorm2D, index + 1 < layers.count,
               let relu = layers[index + 1].layer as? ActivationLayer, relu.activation == .relu, relu.isTraining == norm.isTraining {
                if !norm.isTraining, index + 2 < layers.count, let conv = layers[index + 2].layer as? Conv2D, !conv.isTraining {
                    prologue = (norm, relu)
                    index += 2
                    continue
                }
                current = try OperationScope.run(norm.displayName, device: device) {
                    try norm.forwardFused(current, device: device, activation: .relu)
                }
                relu.recordFusedForward(output: current, derivativeAppliedByBatchNorm: norm.isTraining)
                index += 2
                continue
            }
            // The chain's last layer, a training-mode batch norm, takes the residual and its ReLU.
            if index == layers.count - 1, let norm = layers[index].layer as? BatchNorm2D, norm.addsResidualInTraining,
               let residual, residual.relu.activation == .relu, residual.relu.isTraining, residual.skip.shape == current.shape {
                let input = current
                current = try OperationScope.run(norm.displayName, device: device) {
                    try norm.forwardTraining(input, adding: residual.skip, device: device, activation: .relu)
                }
                residual.relu.recordFusedForward(output: current)
                return (current, true)
            }
            guard let conv = layers[index].layer as? Conv2D else {
                current = try layers[index].layer.scopedForward(current, device: device)
                index += 1
                continue
            }
            var next = index + 1
            var norm: BatchNorm2D?
            if !conv.isTraining, next < layers.count, let candidate = layers[next].layer as? BatchNorm2D, !candidate.isTraining {
                norm = candidate
                next += 1
            }
            var relu: ActivationLayer?
            let bareOrFolded = norm != nil || next == index + 1
            if bareOrFolded, next < layers.count, let candidate = layers[next].layer as? ActivationLayer,
               candidate.activation == .relu, candidate.isTraining == conv.isTraining {
                relu = candidate
                next += 1
            }
            let input = current
            // The chain's last group takes the residual when it has no activation of its own.
            var added: ActivationLayer?
            if next == layers.count, relu == nil, let residual, residual.relu.activation == .relu,
               residual.relu.isTraining == conv.isTraining, residual.skip.shape == (try conv.outputShape(for: input.shape)) {
                added = residual.relu
            }
            let before = try prologue.map { try $0.norm.prologue(for: input, activation: .relu) }
            prologue?.relu.recordFusedIntoNextLayer()
            prologue = nil
            current = try OperationScope.run(conv.displayName, device: device) {
                try conv.forward(input, device: device, folding: norm, epilogue: relu == nil && added == nil ? .none : .relu,
                                 residual: added == nil ? nil : residual?.skip, prologue: before)
            }
            norm?.recordFoldedForward()
            relu?.recordFusedForward(output: current)
            added?.recordFusedForward(output: current)
            if added != nil { return (current, true) }
            index = next
        }
        return (current, false)
    }
}
