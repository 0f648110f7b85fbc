import FoveaCore

extension CheckingDevice {
    public func activationForward(_ activation: Activation, input: Tensor) -> Tensor {
        checked("activationForward", shapes: "\(activation), input \(input.shape)") {
            $0.activationForward(activation, input: input)
        }
    }

    public func activationBackward(_ activation: Activation, gradOutput: Tensor, input: Tensor) -> Tensor {
        checked("activationBackward", shapes: "\(activation), input \(input.shape)") {
            $0.activationBackward(activation, gradOutput: gradOutput, input: input)
        }
    }
}
