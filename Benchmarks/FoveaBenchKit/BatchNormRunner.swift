import Foundation
import Fovea

/// Times batch norm in training mode on one backend: the device's `batchNormTraining` and
/// `batchNormBackward`, and a `BatchNorm2D → ReLU` pair of layers in training mode (forward, then
/// backward), the way ResNet and DenseNet run them.
public struct BatchNormRunner {
    /// One timed operation: what ran, on which input and device, and its median time.
    public struct Result: Sendable {
        public var shape: Shape
        public var operation: String
        public var engine: String
        public var threads: Int
        public var runs: Int
        public var medianMilliseconds: Double
        public var spread: Double
    }

    /// The operations timed per shape, in this order.
    public static let operations = ["bn forward", "bn backward", "bn+relu forward", "bn+relu backward"]

    public var shapes: [Shape]
    public var threads: [Int]
    public var engines: [String]
    public var runs: Int
    public var progress: (String) -> Void

    public init(shapes: [Shape], threads: [Int], engines: [String], runs: Int, progress: @escaping (String) -> Void) {
        self.shapes = shapes
        self.threads = threads
        self.engines = engines
        self.runs = runs
        self.progress = progress
    }

    /// ResNet-50 and DenseNet-121 activations at batch 8 and the Fashion-MNIST `cnn-bn` model's
    /// two batch norms at batch 64.
    public static let defaultShapes: [Shape] = [[8, 64, 112, 112], [8, 256, 56, 56], [8, 1024, 14, 14], [64, 32, 28, 28], [64, 64, 14, 14]]

    /// `8x64x112x112` → [8, 64, 112, 112]; four positive sizes.
    public static func shape(_ text: Substring) -> Shape? {
        let sizes = text.split(separator: "x").map { Int($0) }
        guard sizes.count == 4, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return Shape(sizes.map { $0! })
    }

    public func run() throws -> [Result] {
        var results: [Result] = []
        for shape in shapes {
            let channels = shape[1]
            let x = Tensor.randomNormal(shape, mean: 0.5, standardDeviation: 2, seed: 1)
            let dy = Tensor.randomNormal(shape, seed: 2)
            let scale = Tensor.randomNormal([channels], mean: 1, standardDeviation: 0.2, seed: 3)
            let shift = Tensor.randomNormal([channels], standardDeviation: 0.2, seed: 4)
            for count in threads {
                for engine in engines {
                    let device = try Devices.make(engine, threads: count)
                    progress("\(shape) · \(engine) · \(count) thread\(count == 1 ? "" : "s")")
                    let statistics = device.batchNormTraining(input: x, scale: scale, shift: shift, epsilon: 1e-5).statistics
                    let layers = Sequential(try BatchNorm2D(channels), ReLU())
                    layers.train()
                    let timed: [() throws -> Void] = [
                        { _ = device.batchNormTraining(input: x, scale: scale, shift: shift, epsilon: 1e-5) },
                        { _ = device.batchNormBackward(gradOutput: dy, input: x, scale: scale, statistics: statistics) },
                        { _ = try layers.forward(x, device: device) },
                        { _ = try layers.backward(dy, device: device) },
                    ]
                    for (operation, body) in zip(Self.operations, timed) {
                        let times = try time(body)
                        results.append(Result(shape: shape, operation: operation, engine: engine, threads: count, runs: times.count,
                                              medianMilliseconds: Statistics.median(times) * 1e3, spread: Statistics.relativeSpread(times)))
                    }
                }
            }
        }
        return results
    }

    /// One warm-up call, then `runs` timed calls.
    func time(_ body: () throws -> Void) throws -> [Double] {
        try body()
        var times: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return times
    }
}
