import FoveaCore

extension CheckingDevice {
    public func softmaxForward(logits: Tensor, log: Bool) -> Tensor {
        checked("softmaxForward", shapes: "\(log ? "log-softmax" : "softmax"), logits \(logits.shape)") {
            $0.softmaxForward(logits: logits, log: log)
        }
    }

    public func softmaxBackward(gradOutput: Tensor, output: Tensor, log: Bool) -> Tensor {
        checked("softmaxBackward", shapes: "\(log ? "log-softmax" : "softmax"), output \(output.shape)") {
            $0.softmaxBackward(gradOutput: gradOutput, output: output, log: log)
        }
    }
}
