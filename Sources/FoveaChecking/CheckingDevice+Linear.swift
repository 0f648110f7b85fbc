import FoveaCore

extension CheckingDevice {
    public func linearForward(input: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        checked("linearForward", shapes: "input \(input.shape), weight \(weight.shape)\(bias == nil ? ", no bias" : "")") {
            $0.linearForward(input: input, weight: weight, bias: bias)
        }
    }

    public func linearBackward(gradOutput: Tensor, input: Tensor, weight: Tensor, needsInputGradient: Bool) -> LinearGradients {
        checked("linearBackward", shapes: "gradOutput \(gradOutput.shape), input \(input.shape), weight \(weight.shape)") {
            $0.linearBackward(gradOutput: gradOutput, input: input, weight: weight, needsInputGradient: needsInputGradient)
        } outputs: { actual, expected, floor in
            var outputs = [Output("weight gradient", actual.weight, expected.weight, floor: floor),
                           Output("bias gradient", actual.bias, expected.bias, floor: floor,
                                  scale: ReductionScale.largestChannelAbsoluteSum(gradOutput))]
            switch (actual.input, expected.input) {
            case let (subject?, reference?): outputs.append(Output("input gradient", subject, reference, floor: floor))
            case (nil, nil): break
            default: outputs.append(Output("input gradient (present on one device only)", .incomparable))
            }
            return outputs
        }
    }
}
