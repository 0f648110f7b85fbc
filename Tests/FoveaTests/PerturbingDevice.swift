import Fovea

/// A deliberately wrong device for testing the checking device: it runs everything on `base`,
/// but adds `amount` to the first element of one operation's output (`activationForward`'s
/// result, or `conv2dBackwardFilter`'s weight gradient).
struct PerturbingDevice: Device {
    enum Target: String, Sendable, CustomStringConvertible {
        case activationForward, conv2dBackwardFilter
        var description: String { rawValue }
    }

    let base: any Device
    let target: Target
    let amount: Float

    var name: String { "perturbed-\(base.name)" }
    var threadCount: Int { base.threadCount }
    var fallback: (any Device)? { base }

    func activationForward(_ activation: Activation, input: Tensor) -> Tensor {
        let output = base.activationForward(activation, input: input)
        return target == .activationForward ? Self.perturbed(output, by: amount) : output
    }

    func conv2dBackwardFilter(gradOutput: Tensor, input: Tensor, geometry: Conv2DGeometry) -> Conv2DFilterGradients {
        var gradients = base.conv2dBackwardFilter(gradOutput: gradOutput, input: input, geometry: geometry)
        if target == .conv2dBackwardFilter { gradients.weight = Self.perturbed(gradients.weight, by: amount) }
        return gradients
    }

    static func perturbed(_ tensor: Tensor, by amount: Float) -> Tensor {
        var result = tensor
        result.withUnsafeMutableBufferPointer { $0[0] += amount }
        return result
    }
}
