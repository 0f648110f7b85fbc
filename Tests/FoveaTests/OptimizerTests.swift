import Foundation
import Fovea
import Testing

/// Optimisers and schedules against their formulas, evaluated independently here in Double.
@Suite("Optimisers and schedules")
struct OptimizerTests {
    /// A parameter with a fixed gradient sequence, stepped `steps` times.
    func run(_ makeOptimizer: ([Parameter]) throws -> any Optimizer, gradients: [[Float]], start: [Float]) throws -> [Float] {
        let parameter = Parameter(Tensor(shape: [start.count], scalars: start))
        let optimizer = try makeOptimizer([parameter])
        for g in gradients {
            optimizer.zeroGradients()
            parameter.accumulateGradient(Tensor(shape: [g.count], scalars: g))
            optimizer.step()
        }
        return parameter.value.scalars
    }

    let gradients: [[Float]] = [[0.5, -1, 2], [0.25, 0.5, -1], [-1, 1, 0.5]]
    let start: [Float] = [1, -2, 0.5]

    @Test func sgdWithMomentumAndWeightDecay() throws {
        let (lr, mu, wd) = (0.1, 0.9, 0.01)
        for nesterov in [false, true] {
            var p = start.map(Double.init)
            var b = [Double](repeating: 0, count: 3)
            for (step, g) in gradients.enumerated() {
                for i in 0..<3 {
                    let d = Double(g[i]) + wd * p[i]
                    b[i] = step == 0 ? d : mu * b[i] + d
                    p[i] -= lr * (nesterov ? d + mu * b[i] : b[i])
                }
            }
            let actual = try run({ try SGD($0, learningRate: 0.1, momentum: 0.9, nesterov: nesterov, weightDecay: 0.01) }, gradients: gradients, start: start)
            for i in 0..<3 { #expect(abs(Double(actual[i]) - p[i]) < 1e-5, "nesterov \(nesterov) element \(i): \(actual[i]) vs \(p[i])") }
        }
    }

    @Test func adamAndAdamW() throws {
        let (lr, b1, b2, eps, wd) = (0.01, 0.9, 0.999, 1e-8, 0.1)
        for decoupled in [false, true] {
            var p = start.map(Double.init)
            var m = [Double](repeating: 0, count: 3), v = m
            for (index, g) in gradients.enumerated() {
                let t = Double(index + 1)
                for i in 0..<3 {
                    var d = Double(g[i])
                    if decoupled { p[i] *= 1 - lr * wd } else { d += wd * p[i] }
                    m[i] = b1 * m[i] + (1 - b1) * d
                    v[i] = b2 * v[i] + (1 - b2) * d * d
                    p[i] -= lr * (m[i] / (1 - pow(b1, t))) / ((v[i] / (1 - pow(b2, t))).squareRoot() + eps)
                }
            }
            let actual = try run({
                decoupled ? try Adam.adamW([ParameterGroup($0)], learningRate: 0.01, weightDecay: 0.1)
                    : try Adam($0, learningRate: 0.01, weightDecay: 0.1)
            }, gradients: gradients, start: start)
            for i in 0..<3 { #expect(abs(Double(actual[i]) - p[i]) < 1e-5, "decoupled \(decoupled) element \(i): \(actual[i]) vs \(p[i])") }
        }
    }

    @Test func frozenParametersAreNotUpdatedAndGroupsScaleTheRate() throws {
        let frozen = Parameter(Tensor(shape: [2], scalars: [1, 2]))
        let slow = Parameter(Tensor(shape: [1], scalars: [1]))
        let fast = Parameter(Tensor(shape: [1], scalars: [1]))
        frozen.isFrozen = true
        let optimizer = try SGD([ParameterGroup([frozen, slow], learningRateScale: 0.1), ParameterGroup([fast])], learningRate: 1)
        frozen.accumulateGradient(Tensor(shape: [2], scalars: [5, 5]))
        slow.accumulateGradient(Tensor(shape: [1], scalars: [1]))
        fast.accumulateGradient(Tensor(shape: [1], scalars: [1]))
        optimizer.step()
        #expect(frozen.gradient == nil)
        #expect(frozen.value.scalars == [1, 2])
        #expect(abs(slow.value[0] - 0.9) < 1e-6)
        #expect(abs(fast.value[0] - 0) < 1e-6)
    }

    @Test func schedulesFollowTheirFormulas() throws {
        #expect(try StepDecay(stepSize: 3, gamma: 0.5).learningRate(base: 1, step: 7) == 0.25)
        #expect(try MultiStepDecay(milestones: [2, 5], gamma: 0.1).learningRate(base: 1, step: 1) == 1)
        #expect(abs(try MultiStepDecay(milestones: [2, 5], gamma: 0.1).learningRate(base: 1, step: 5) - 0.01) < 1e-7)
        let cosine = try CosineAnnealing(totalSteps: 10, minimum: 0.1)
        #expect(abs(cosine.learningRate(base: 1, step: 0) - 1) < 1e-6)
        #expect(abs(cosine.learningRate(base: 1, step: 5) - 0.55) < 1e-6)
        #expect(abs(cosine.learningRate(base: 1, step: 10) - 0.1) < 1e-6)
        let warmup = try LinearWarmup(warmupSteps: 4, then: try StepDecay(stepSize: 2, gamma: 0.5))
        #expect(warmup.learningRate(base: 2, step: 0) == 0.5)
        #expect(warmup.learningRate(base: 2, step: 3) == 2)
        #expect(warmup.learningRate(base: 2, step: 6) == 1)
    }
}
