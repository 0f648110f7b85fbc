import Foundation
import Fovea
import FoveaTestSupport
import Testing

@Suite("Softmax cross-entropy")
struct LossTests {
    /// The loss and gradient against the formula evaluated here in Double, with and without
    /// label smoothing, on every device; and the gradient against finite differences.
    @Test(arguments: TestDevices.all)
    func matchesTheFormula(device: LabeledDevice) throws {
        let logits = Tensor.randomNormal([5, 7], standardDeviation: 3, seed: 4)
        let labels = [0, 6, 3, 3, 1]
        for smoothing in [Float(0), 0.1] {
            let result = try SoftmaxCrossEntropy(labelSmoothing: smoothing)(logits: logits, labels: labels, device: device.device)
            var expectedLoss = 0.0
            var expectedGradient = [Float]()
            for row in 0..<5 {
                let z = (0..<7).map { Double(logits[row, $0]) }
                let m = z.max()!
                let logSum = log(z.map { exp($0 - m) }.reduce(0, +)) + m
                for c in 0..<7 {
                    let q = (c == labels[row] ? 1 - Double(smoothing) : 0) + Double(smoothing) / 7
                    expectedLoss -= q * (z[c] - logSum) / 5
                    expectedGradient.append(Float((exp(z[c] - logSum) - q) / 5))
                }
            }
            #expect(abs(Double(result.loss) - expectedLoss) < 1e-5, "\(device) ε=\(smoothing): \(result.loss) vs \(expectedLoss)")
            expectClose(result.gradient, Tensor(shape: [5, 7], scalars: expectedGradient), absolute: 1e-6, relative: 1e-4, "\(device) ε=\(smoothing) gradient")
            let failures = try GradientChecker(step: 1e-2, tolerance: 1e-2, floor: 1e-2).check(at: logits, analytic: result.gradient) { z in
                Double(try SoftmaxCrossEntropy(labelSmoothing: smoothing)(logits: z, labels: labels, device: device.device).loss)
            }
            #expect(failures.isEmpty, "\(device) ε=\(smoothing): \(failures.prefix(3))")
        }
    }

    @Test func stableForHugeLogitsAndCountsCorrect() throws {
        let logits = Tensor(shape: [2, 3], scalars: [1e4, -1e4, 0, -5e3, 5e3, 5e3])
        let result = try SoftmaxCrossEntropy()(logits: logits, labels: [0, 2], device: TestDevices.naive)
        #expect(result.loss.isFinite)
        #expect(abs(result.loss - Float(log(2.0)) / 2) < 1e-4)  // row 0 is certain; row 1 is a coin toss
        #expect(result.correct == 1 || result.correct == 2)
    }

    @Test func badLabelsAreClearErrors() {
        let logits = Tensor(zeros: [2, 3])
        #expect(throws: FoveaError.self) { try SoftmaxCrossEntropy()(logits: logits, labels: [0], device: TestDevices.naive) }
        do {
            _ = try SoftmaxCrossEntropy()(logits: logits, labels: [0, 3], device: TestDevices.naive)
        } catch let error as FoveaError {
            #expect(error.message.contains("label 3 is outside 0..<3"))
        } catch { Issue.record("\(error)") }
    }
}
