import FoveaCore

/// Adaptive average pooling over GCD: `[N, C, H, W]` → `[N, C, P, Q]`, output (p, q) averaging
/// rows `⌊p·H/P⌋ ..< ⌈(p+1)·H/P⌉` and columns `⌊q·W/Q⌋ ..< ⌈(q+1)·W/Q⌉`. Split as max and
/// average pooling are (forward by plane and row block, backward by plane), so results do not
/// depend on the thread count.
extension DispatchDevice {
    public func adaptiveAvgPool2dForward(input: Tensor, outputSize: Size2D) -> Tensor {
        windowAverage(input, rows: PoolWindows(adaptiveInput: input.shape[2], outputs: outputSize.height),
                      columns: PoolWindows(adaptiveInput: input.shape[3], outputs: outputSize.width),
                      outputShape: [input.shape[0], input.shape[1], outputSize.height, outputSize.width], divisor: 0)
    }

    public func adaptiveAvgPool2dBackward(gradOutput: Tensor, inputShape: Shape) -> Tensor {
        windowAverageBackward(gradOutput, rows: PoolWindows(adaptiveInput: inputShape[2], outputs: gradOutput.shape[2]),
                              columns: PoolWindows(adaptiveInput: inputShape[3], outputs: gradOutput.shape[3]),
                              inputShape: inputShape, divisor: 0)
    }
}
