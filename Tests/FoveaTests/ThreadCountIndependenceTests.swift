import Fovea
import FoveaKernels
import FoveaTestSupport
import Testing

/// One accelerated backend at a chosen per-worker workspace, made at any thread count the way
/// `Devices.make` makes it (openblas falls back to dispatch at the same thread count).
struct ThreadedBackend: CustomStringConvertible, CustomTestStringConvertible, Sendable {
    let name: String
    /// `nil` for the default budget; a tiny budget cuts convolutions into many more tiles.
    let workspaceBytesPerWorker: Int?

    static let all = ["dispatch", "openblas"].flatMap { name in
        [ThreadedBackend(name: name, workspaceBytesPerWorker: nil), ThreadedBackend(name: name, workspaceBytesPerWorker: 4096)]
    }

    /// 1–8: this machine has 2 cores, so 3–8 are more workers than cores (GCD still runs each
    /// `concurrentPerform` iteration on its own worker) and every split that follows the thread
    /// count takes a different shape at each.
    static let threadCounts = Array(1...8)

    var description: String { workspaceBytesPerWorker.map { "\(name), \($0) B workspace" } ?? name }
    var testDescription: String { description }

    func make(threads: Int) -> any Device {
        let budget = workspaceBytesPerWorker ?? Im2colConvolution.defaultWorkspaceBytesPerWorker
        let dispatch = DispatchDevice(threads: threads, fallback: NaiveDevice(), workspaceBytesPerWorker: budget)
        return name == "openblas" ? OpenBLASDevice(threads: threads, fallback: dispatch, workspaceBytesPerWorker: budget) : dispatch
    }

    /// Runs `compute` on this backend at every count of `threadCounts` and expects every tensor
    /// it returns to be bit-identical to the one-thread result.
    func expectSameBits(_ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ compute: (any Device) -> [Tensor]) {
        Self.expectSameBits("\(self) \(what)", make: make(threads:), sourceLocation: sourceLocation, compute)
    }

    /// Runs `compute` on `make(threads)` for every count of `threadCounts` and expects every
    /// tensor it returns to be bit-identical to the one-thread result.
    static func expectSameBits(_ what: String, make: (Int) -> any Device, sourceLocation: SourceLocation = #_sourceLocation,
                               _ compute: (any Device) throws -> [Tensor]) rethrows {
        let results = try threadCounts.map { try compute(make($0)) }
        for (index, threads) in threadCounts.enumerated().dropFirst() {
            #expect(results[index].count == results[0].count, sourceLocation: sourceLocation)
            for (part, (actual, reference)) in zip(results[index], results[0]).enumerated() {
                expectIdentical(actual, reference, "\(what) [\(part)] at \(threads) threads vs 1",
                                sourceLocation: sourceLocation)
            }
        }
    }
}

/// Issue #8 item 2 (extended by issue #17 to 1–8 threads): `dispatch` and `openblas` give
/// bit-identical outputs and gradients at 1 to 8 threads, for every operation family, at the default workspace and at a 4 KiB one (which
/// cuts convolutions into many tiles). The shapes are large enough that every operation is cut
/// into several items. The training counterpart is `ThreadCountTrainingTests`.
@Suite("Results do not depend on the thread count")
struct ThreadCountIndependenceTests {
    /// Random shapes plus shapes that split into many items: several images and tiles, output
    /// channel blocks (a 7×7 image), groups, dilation, and a pointwise layer.
    static let convCases = ConvCase.randomized(count: 12, seed: 808) + [
        try! ConvCase(input: [4, 16, 20, 20], weight: [24, 16, 3, 3], options: Conv2DOptions(padding: 1), seed: 1),
        try! ConvCase(input: [1, 32, 30, 30], weight: [48, 32, 3, 3], options: Conv2DOptions(padding: 1), seed: 2),
        try! ConvCase(input: [1, 64, 7, 7], weight: [96, 64, 3, 3], options: Conv2DOptions(padding: 1), seed: 3),
        try! ConvCase(input: [2, 12, 15, 15], weight: [18, 4, 3, 3], options: Conv2DOptions(stride: 2, padding: 1, groups: 3), seed: 4),
        try! ConvCase(input: [3, 8, 17, 13], weight: [10, 8, 3, 3], options: Conv2DOptions(padding: 2, dilation: 2), seed: 5),
        try! ConvCase(input: [2, 64, 16, 16], weight: [80, 64, 1, 1], options: Conv2DOptions(), seed: 6),
    ]

    @Test(arguments: ThreadedBackend.all)
    func convolution(backend: ThreadedBackend) {
        for c in Self.convCases {
            let g = c.geometry
            backend.expectSameBits("conv forward \(c)") { [$0.conv2dForward(input: c.input, weight: c.weight, bias: c.bias, geometry: g)] }
            backend.expectSameBits("conv backward-data \(c)") { [$0.conv2dBackwardData(gradOutput: c.gradOutput, weight: c.weight, geometry: g)] }
            backend.expectSameBits("conv backward-filter \(c)") {
                let gradients = $0.conv2dBackwardFilter(gradOutput: c.gradOutput, input: c.input, geometry: g)
                return [gradients.weight, gradients.bias]
            }
        }
    }

    /// Linear layers and raw GEMMs large enough (≥ 2·10⁶ multiply-adds) that `ParallelGEMM`
    /// splits them into column blocks (wide C) or row blocks (tall C).
    @Test(arguments: ThreadedBackend.all)
    func linearAndGEMM(backend: ThreadedBackend) {
        for (batch, features, outputs) in [(64, 300, 200), (512, 100, 40), (3, 7, 5)] {
            let x = Tensor.randomNormal([batch, features], seed: 11)
            let w = Tensor.randomNormal([outputs, features], seed: 12)
            let b = Tensor.randomNormal([outputs], seed: 13)
            let dy = Tensor.randomNormal([batch, outputs], seed: 14)
            backend.expectSameBits("linear \(batch)×\(features)→\(outputs)") { device in
                let gradients = device.linearBackward(gradOutput: dy, input: x, weight: w, needsInputGradient: true)
                return [device.linearForward(input: x, weight: w, bias: b), gradients.input!, gradients.weight, gradients.bias]
            }
        }
        for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
            let (m, n, k) = (150, 170, 130)
            let a = Tensor.randomNormal(transposeA ? [k, m] : [m, k], seed: 21)
            let b = Tensor.randomNormal(transposeB ? [n, k] : [k, n], seed: 22)
            let c0 = Tensor.randomNormal([m, n], seed: 23)
            backend.expectSameBits("gemm transposeA \(transposeA) transposeB \(transposeB)") { device in
                var c = c0
                a.withUnsafeBufferPointer { a in
                    b.withUnsafeBufferPointer { b in
                        c.withUnsafeMutableBufferPointer { c in
                            device.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                        alpha: 0.75, a: a.baseAddress!, lda: transposeA ? m : k, b: b.baseAddress!, ldb: transposeB ? k : n,
                                        beta: 0.5, c: c.baseAddress!, ldc: n)
                        }
                    }
                }
                return [c]
            }
        }
    }

    /// Max, average and adaptive pooling, forward and backward; many planes, and few large
    /// planes (split into row blocks).
    @Test(arguments: ThreadedBackend.all)
    func pooling(backend: ThreadedBackend) throws {
        for shape: Shape in [[2, 8, 33, 31], [1, 2, 96, 80]] {
            let x = Tensor.randomNormal(shape, seed: 31)
            let maxGeometry = try Pool2DGeometry(inputShape: shape, options: Pool2DOptions(kernel: 3, stride: 2, padding: 1))
            let avgGeometry = try Pool2DGeometry(inputShape: shape, options: Pool2DOptions(kernel: 3, stride: 2, padding: 1, countIncludesPadding: false))
            let dy = Tensor.randomNormal(maxGeometry.outputShape, seed: 32)
            backend.expectSameBits("max pool \(shape)") { device in
                let result = device.maxPool2dForward(input: x, geometry: maxGeometry)
                let argmax = Tensor(shape: [result.argmax.count], scalars: result.argmax.map(Float.init))
                return [result.output, argmax, device.maxPool2dBackward(gradOutput: dy, argmax: result.argmax, geometry: maxGeometry)]
            }
            let narrowGeometry = try Pool2DGeometry(inputShape: shape, options: Pool2DOptions(kernel: 2, stride: 2))
            backend.expectSameBits("2×2 max pool \(shape)") { device in
                let result = device.maxPool2dForward(input: x, geometry: narrowGeometry)
                return [result.output, Tensor(shape: [result.argmax.count], scalars: result.argmax.map(Float.init))]
            }
            backend.expectSameBits("avg pool \(shape)") { device in
                [device.avgPool2dForward(input: x, geometry: avgGeometry), device.avgPool2dBackward(gradOutput: dy, geometry: avgGeometry)]
            }
            let outputSize = Size2D(height: 5, width: 3)
            let adaptiveGradient = Tensor.randomNormal([shape[0], shape[1], 5, 3], seed: 33)
            backend.expectSameBits("adaptive avg pool \(shape)") { device in
                [device.adaptiveAvgPool2dForward(input: x, outputSize: outputSize),
                 device.adaptiveAvgPool2dBackward(gradOutput: adaptiveGradient, inputShape: shape)]
            }
        }
    }

    /// Batch norm in training (output and batch statistics; alone and fused with ReLU) and
    /// inference, its backward (alone and fused), and the
    /// running statistics a `BatchNorm2D` layer accumulates over three batches. On dispatch,
    /// [8, 64, 9, 9] runs as items of 50, 8, 6, … 2 whole channels at 1, 2, 3, … 8 threads, and
    /// [2, 3, 150, 130] (planes of 20 segments, the last of 44 values) has too few channels to give
    /// every worker whole channels, so from 2 threads on each channel is cut into runs of segments.
    @Test(arguments: ThreadedBackend.all)
    func batchNorm(backend: ThreadedBackend) throws {
        for shape: Shape in [[4, 6, 13, 11], [16, 3, 32, 32], [8, 64, 9, 9], [2, 3, 150, 130]] {
            let channels = shape[1]
            let x = Tensor.randomNormal(shape, seed: 41)
            let dy = Tensor.randomNormal(shape, seed: 42)
            let scale = Tensor.randomNormal([channels], seed: 43)
            let shift = Tensor.randomNormal([channels], seed: 44)
            backend.expectSameBits("batch norm \(shape)") { device in
                let training = device.batchNormTraining(input: x, scale: scale, shift: shift, epsilon: 1e-5)
                let s = training.statistics
                let gradients = device.batchNormBackward(gradOutput: dy, input: x, scale: scale, statistics: s)
                let inference = device.batchNormInference(input: x, scale: scale, shift: shift, runningMean: s.mean,
                                                          runningVariance: s.variance, epsilon: 1e-5)
                let fused = device.batchNormTraining(input: x, scale: scale, shift: shift, epsilon: 1e-5, activation: .relu)
                let fusedGradients = device.batchNormBackward(gradOutput: dy, input: x, scale: scale, statistics: fused.statistics,
                                                              activation: .relu, output: fused.output)
                return [training.output, s.mean, s.variance, s.inverseStandardDeviation,
                        gradients.input, gradients.scale, gradients.shift, inference,
                        fused.output, fusedGradients.input, fusedGradients.scale, fusedGradients.shift]
            }
            backend.expectSameBits("BatchNorm2D running statistics \(shape)") { device in
                let layer = try! BatchNorm2D(channels)
                layer.train()
                for seed in 45..<48 { _ = try! layer.forward(Tensor.randomNormal(shape, seed: UInt64(seed)), device: device) }
                return layer.stateDict().map(\.tensor)
            }
        }
    }

    /// Softmax and log-softmax forward and backward, softmax cross-entropy (loss and gradient),
    /// and local response normalisation.
    @Test(arguments: ThreadedBackend.all)
    func softmaxLossAndLocalResponseNorm(backend: ThreadedBackend) throws {
        for (rows, classes) in [(64, 1000), (5, 7)] {
            let logits = Tensor.randomNormal([rows, classes], standardDeviation: 3, seed: 51)
            let dy = Tensor.randomNormal([rows, classes], seed: 52)
            let labels = (0..<rows).map { ($0 * 7) % classes }
            backend.expectSameBits("softmax \(rows)×\(classes)") { device in
                [false, true].flatMap { log in
                    let output = device.softmaxForward(logits: logits, log: log)
                    return [output, device.softmaxBackward(gradOutput: dy, output: output, log: log)]
                }
            }
            backend.expectSameBits("softmax cross-entropy \(rows)×\(classes)") { device in
                let result = try! SoftmaxCrossEntropy(labelSmoothing: 0.1)(logits: logits, labels: labels, device: device)
                return [Tensor(shape: [1], scalars: [result.loss]), result.gradient]
            }
        }
        let x = Tensor.randomNormal([3, 12, 19, 17], seed: 53)
        let dy = Tensor.randomNormal(x.shape, seed: 54)
        let options = LocalResponseNormOptions(size: 5, alpha: 1e-2)
        backend.expectSameBits("local response norm") { device in
            [device.localResponseNormForward(input: x, options: options),
             device.localResponseNormBackward(gradOutput: dy, input: x, options: options)]
        }
    }

    /// Activations, add, multiply, concatenate and split on tensors of several work chunks.
    @Test(arguments: ThreadedBackend.all)
    func elementwise(backend: ThreadedBackend) {
        let a = Tensor.randomNormal([4, 10, 50, 50], seed: 61)
        let b = Tensor.randomNormal(a.shape, seed: 62)
        let c = Tensor.randomNormal([4, 3, 50, 50], seed: 63)
        for activation in [Activation.relu, .leakyReLU(negativeSlope: 0.1)] {
            backend.expectSameBits("\(activation)") { device in
                [device.activationForward(activation, input: a), device.activationBackward(activation, gradOutput: b, input: a)]
            }
        }
        backend.expectSameBits("add, multiply, concatenate, split") { device in
            let joined = device.concatenateChannels([a, c, b])
            return [device.add(a, b), device.multiply(a, b), joined] + device.splitChannels(joined, sizes: [7, 6, 10])
        }
    }
}
