import FoveaCore

extension CheckingDevice {
    /// Compares the output and the batch statistics (mean, variance, 1/σ), which the layer also
    /// folds into its running estimates.
    public func batchNormTraining(input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float) -> BatchNormTrainingResult {
        checked("batchNormTraining", shapes: "input \(input.shape), ε \(epsilon)",
                run: { $0.batchNormTraining(input: input, scale: scale, shift: shift, epsilon: epsilon) },
                outputs: Self.trainingOutputs)
    }

    public func batchNormTraining(input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float, activation: Activation) -> BatchNormTrainingResult {
        checked("batchNormTraining+\(activation)", shapes: "input \(input.shape), ε \(epsilon)",
                run: { $0.batchNormTraining(input: input, scale: scale, shift: shift, epsilon: epsilon, activation: activation) },
                outputs: Self.trainingOutputs)
    }

    public func batchNormTraining(input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float, activation: Activation,
                                  residual: Tensor) -> BatchNormTrainingResult {
        checked("batchNormTraining+residual+\(activation)", shapes: "input \(input.shape), ε \(epsilon)",
                run: { $0.batchNormTraining(input: input, scale: scale, shift: shift, epsilon: epsilon, activation: activation, residual: residual) },
                outputs: Self.trainingOutputs)
    }

    /// The output and the batch statistics of a training-mode batch norm, subject against reference.
    static func trainingOutputs(_ actual: BatchNormTrainingResult, _ expected: BatchNormTrainingResult, _ floor: Double) -> [Output] {
        [Output("output", actual.output, expected.output, floor: floor),
         Output("batch mean", actual.statistics.mean, expected.statistics.mean, floor: floor),
         Output("batch variance", actual.statistics.variance, expected.statistics.variance, floor: floor),
         Output("inverse standard deviation", actual.statistics.inverseStandardDeviation,
                expected.statistics.inverseStandardDeviation, floor: floor)]
    }

    public func batchNormInference(
        input: Tensor, scale: Tensor, shift: Tensor, runningMean: Tensor, runningVariance: Tensor, epsilon: Float
    ) -> Tensor {
        checked("batchNormInference", shapes: "input \(input.shape), ε \(epsilon)") {
            $0.batchNormInference(input: input, scale: scale, shift: shift, runningMean: runningMean,
                                  runningVariance: runningVariance, epsilon: epsilon)
        }
    }

    public func batchNormInference(
        input: Tensor, scale: Tensor, shift: Tensor, runningMean: Tensor, runningVariance: Tensor, epsilon: Float,
        activation: Activation
    ) -> Tensor {
        checked("batchNormInference+\(activation)", shapes: "input \(input.shape), ε \(epsilon)") {
            $0.batchNormInference(input: input, scale: scale, shift: shift, runningMean: runningMean,
                                  runningVariance: runningVariance, epsilon: epsilon, activation: activation)
        }
    }

    public func batchNormBackward(gradOutput: Tensor, input: Tensor, scale: Tensor, statistics: BatchNormStatistics) -> BatchNormGradients {
        checked("batchNormBackward", shapes: "input \(input.shape)") {
            $0.batchNormBackward(gradOutput: gradOutput, input: input, scale: scale, statistics: statistics)
        } outputs: { actual, expected, floor in
            [Output("input gradient", actual.input, expected.input, floor: floor),
             Output("scale gradient", actual.scale, expected.scale, floor: floor),
             Output("shift gradient", actual.shift, expected.shift, floor: floor,
                    scale: ReductionScale.largestChannelAbsoluteSum(gradOutput))]
        }
    }

    public func batchNormBackward(gradOutput: Tensor, input: Tensor, scale: Tensor, statistics: BatchNormStatistics,
                                  activation: Activation, output: Tensor) -> BatchNormGradients {
        checked("batchNormBackward+\(activation)", shapes: "input \(input.shape)") {
            $0.batchNormBackward(gradOutput: gradOutput, input: input, scale: scale, statistics: statistics, activation: activation, output: output)
        } outputs: { actual, expected, floor in
            [Output("input gradient", actual.input, expected.input, floor: floor),
             Output("scale gradient", actual.scale, expected.scale, floor: floor),
             Output("shift gradient", actual.shift, expected.shift, floor: floor,
                    scale: ReductionScale.largestChannelAbsoluteSum(gradOutput))]
        }
    }

    public func batchNormResidualBackward(gradOutput: Tensor, input: Tensor, scale: Tensor, statistics: BatchNormStatistics,
                                          activation: Activation, output: Tensor) -> BatchNormResidualGradients {
        checked("batchNormBackward+residual+\(activation)", shapes: "input \(input.shape)") {
            $0.batchNormResidualBackward(gradOutput: gradOutput, input: input, scale: scale, statistics: statistics,
                                         activation: activation, output: output)
        } outputs: { actual, expected, floor in
            [Output("input gradient", actual.normalization.input, expected.normalization.input, floor: floor),
             Output("scale gradient", actual.normalization.scale, expected.normalization.scale, floor: floor),
             Output("shift gradient", actual.normalization.shift, expected.normalization.shift, floor: floor,
                    scale: ReductionScale.largestChannelAbsoluteSum(gradOutput)),
             Output("residual gradient", actual.residual, expected.residual, floor: floor)]
        }
    }

    public func localResponseNormForward(input: Tensor, options: LocalResponseNormOptions) -> Tensor {
        checked("localResponseNormForward", shapes: "input \(input.shape), size \(options.size)") {
            $0.localResponseNormForward(input: input, options: options)
        }
    }

    public func localResponseNormBackward(gradOutput: Tensor, input: Tensor, options: LocalResponseNormOptions) -> Tensor {
        checked("localResponseNormBackward", shapes: "input \(input.shape), size \(options.size)") {
            $0.localResponseNormBackward(gradOutput: gradOutput, input: input, options: options)
        }
    }
}
