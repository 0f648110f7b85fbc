import Fovea
import FoveaTestSupport
import Foundation
import Testing

/// Synchronized batch norm (`BatchNorm2D.replicaGroup`) without MPI: replicas on threads of this
/// process (`ThreadReplicas`) must compute what one batch norm computes on the whole batch, and
/// its backward must match finite differences. The MPI version is covered by
/// FoveaDistributedTests.
@Suite struct SynchronizedBatchNormTests {
    /// Replicas on threads of one process: `sumOverReplicas` waits until every member has
    /// contributed, then hands each the sum (added in member order, so it is deterministic).
    final class ThreadReplicas: @unchecked Sendable {
        let count: Int
        private let condition = NSCondition()
        private var contributions: [[Double]?]
        private var completed = 0
        private var result: [Double] = []
        private(set) var labels: [String] = []

        init(count: Int) {
            self.count = count
            contributions = Array(repeating: nil, count: count)
        }

        final class Member: ReplicaGroup {
            let replicas: ThreadReplicas
            let index: Int
            init(_ replicas: ThreadReplicas, _ index: Int) { (self.replicas, self.index) = (replicas, index) }
            var replicaCount: Int { replicas.count }
            func sumOverReplicas(_ values: inout [Double], label: String) throws { replicas.sum(&values, from: index, label: label) }
        }

        func member(_ index: Int) -> Member { Member(self, index) }

        func sum(_ values: inout [Double], from member: Int, label: String) {
            condition.lock()
            defer { condition.unlock() }
            let round = completed
            contributions[member] = values
            if member == 0 { labels.append(label) }
            if contributions.allSatisfy({ $0 != nil }) {
                result = contributions.map { $0! }.reduce(into: [Double](repeating: 0, count: values.count)) { total, part in
                    for i in total.indices { total[i] += part[i] }
                }
                contributions = Array(repeating: nil, count: count)
                completed += 1
                condition.broadcast()
            } else {
                while completed == round { condition.wait() }
            }
            values = result
        }
    }

    /// Images `range` of a [N, …] tensor.
    static func images(_ tensor: Tensor, _ range: Range<Int>) -> Tensor {
        let size = tensor.count / tensor.shape[0]
        return Tensor(shape: Shape([range.count] + tensor.shape.dimensions.dropFirst()),
                      scalars: Array(tensor.scalars[(range.lowerBound * size)..<(range.upperBound * size)]))
    }

    static func joined(_ parts: [Tensor]) -> Tensor {
        Tensor(shape: Shape([parts.map { $0.shape[0] }.reduce(0, +)] + parts[0].shape.dimensions.dropFirst()), scalars: parts.flatMap(\.scalars))
    }

    static func batchNorm(seed: UInt64) throws -> BatchNorm2D {
        let norm = try BatchNorm2D(4)
        norm.weight.value = Tensor.randomUniform([4], in: 0.5...1.5, seed: seed)
        norm.bias.value = Tensor.randomUniform([4], in: -0.5...0.5, seed: seed + 1)
        return norm
    }

    /// Two and three replicas with parts of 7 images (3 + 4, 2 + 2 + 3), through BN → ReLU as
    /// `Sequential` fuses them in training: outputs, ∂L/∂x, the parameter gradients summed over
    /// replicas, and the running statistics match one batch norm on all 7.
    @Test(arguments: [[0..<3, 3..<7], [0..<2, 2..<4, 4..<7]])
    func replicasComputeWhatOneBatchNormComputes(parts: [Range<Int>]) throws {
        let device = try Devices.make("naive")
        let input = Tensor.randomNormal([7, 4, 5, 3], mean: 0.3, standardDeviation: 2, seed: 3)
        let gradOutput = Tensor.randomNormal([7, 4, 5, 3], seed: 4)
        let single = try Sequential(named: [("bn", try Self.batchNorm(seed: 9)), ("relu", ReLU())])
        let expected = try single.forward(input, device: device)
        let expectedGradient = try single.backward(gradOutput, device: device)

        let replicas = ThreadReplicas(count: parts.count)
        nonisolated(unsafe) let models = try parts.indices.map { index in
            let model = try Sequential(named: [("bn", try Self.batchNorm(seed: 9)), ("relu", ReLU())])
            model.synchronizeBatchNorm(over: replicas.member(index))
            return model
        }
        // Each replica's thread writes only its own slot (writing elements of one shared array
        // from several threads is a data race on the array: ThreadSanitizer reported it).
        final class Slot: @unchecked Sendable { var output, gradient: Tensor? }
        let slots = parts.map { _ in Slot() }
        // One thread per replica (a thread pool might run fewer at once, and replicas wait for each other).
        let finished = DispatchSemaphore(value: 0)
        for index in parts.indices {
            Thread {
                slots[index].output = try? models[index].forward(Self.images(input, parts[index]), device: device)
                slots[index].gradient = try? models[index].backward(Self.images(gradOutput, parts[index]), device: device)
                finished.signal()
            }.start()
        }
        for _ in parts { finished.wait() }
        let (outputs, gradients) = (slots.map(\.output), slots.map(\.gradient))
        expectClose(Self.joined(outputs.map { $0! }), expected, absolute: 1e-5, relative: 1e-5, "output")
        expectClose(Self.joined(gradients.map { $0! }), expectedGradient, absolute: 1e-5, relative: 1e-4, "∂L/∂x")
        let norms = models.map { $0.layer(at: "bn") as! BatchNorm2D }, reference = single.layer(at: "bn") as! BatchNorm2D
        var weightGradient = norms[0].weight.gradient!, biasGradient = norms[0].bias.gradient!
        for norm in norms.dropFirst() {
            weightGradient += norm.weight.gradient!
            biasGradient += norm.bias.gradient!
        }
        expectClose(weightGradient, reference.weight.gradient!, absolute: 1e-5, relative: 1e-4, "∂L/∂γ summed over replicas")
        expectClose(biasGradient, reference.bias.gradient!, absolute: 1e-5, relative: 1e-4, "∂L/∂β summed over replicas")
        for norm in norms {
            expectClose(norm.runningMean.value, reference.runningMean.value, absolute: 1e-6, relative: 1e-5, "running mean")
            expectClose(norm.runningVariance.value, reference.runningVariance.value, absolute: 1e-6, relative: 1e-5, "running variance")
        }
        #expect(replicas.labels == ["bn: the per-channel sums of the batch", "bn: the per-channel squared deviations of the batch",
                                    "bn: the per-channel gradient sums of the batch"])
    }

    /// Central differences of `L = Σ y·g` through the synchronized path on one replica, for x, γ
    /// and β; every evaluation recomputes the batch statistics.
    @Test func gradientsMatchFiniteDifferences() throws {
        let device = try Devices.make("naive")
        let checker = GradientChecker(step: 1e-2, tolerance: 1e-2, floor: 5e-2, maxChecks: 48)
        let input = Tensor.randomNormal([3, 4, 3, 2], mean: 1, standardDeviation: 1.5, seed: 21)
        let projection = Tensor.randomNormal([3, 4, 3, 2], seed: 22)
        let replicas = ThreadReplicas(count: 1)
        let norm = try Self.batchNorm(seed: 23)
        norm.replicaGroup = replicas.member(0)
        func loss(_ x: Tensor) throws -> Double { GradientChecker.projectedLoss(try norm.forward(x, device: device), projection) }
        _ = try norm.forward(input, device: device)
        let gradInput = try norm.backward(projection, device: device)
        let (gradWeight, gradBias, weight, bias) = (norm.weight.gradient!, norm.bias.gradient!, norm.weight.value, norm.bias.value)
        let inputFailures = try checker.check(at: input, analytic: gradInput) { try loss($0) }
        #expect(inputFailures.isEmpty, "∂L/∂x: \(inputFailures.prefix(3))")
        let weightFailures = try checker.check(at: weight, analytic: gradWeight) { norm.weight.value = $0; return try loss(input) }
        #expect(weightFailures.isEmpty, "∂L/∂γ: \(weightFailures.prefix(3))")
        norm.weight.value = weight
        let biasFailures = try checker.check(at: bias, analytic: gradBias) { norm.bias.value = $0; return try loss(input) }
        #expect(biasFailures.isEmpty, "∂L/∂β: \(biasFailures.prefix(3))")
    }
}
