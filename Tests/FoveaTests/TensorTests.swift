import Fovea
import Testing

@Suite("Tensor")
struct TensorTests {
    @Test func zerosHaveShapeAndCount() {
        let t = Tensor(zeros: [2, 3, 4, 5])
        #expect(t.shape == [2, 3, 4, 5])
        #expect(t.count == 120)
        #expect(t.scalars.allSatisfy { $0 == 0 })
    }

    @Test func scalarsAreRowMajorNCHW() {
        let t = Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
        #expect(t[0, 2] == 2)
        #expect(t[1, 0] == 3)
        #expect(t[flat: 4] == 4)
        let image = Tensor(shape: [1, 2, 2, 2], scalars: (0..<8).map(Float.init))
        #expect(image[0, 1, 0, 1] == 5)  // ((0·2 + 1)·2 + 0)·2 + 1
    }

    @Test func storageIs64ByteAligned() {
        for count in [1, 3, 17, 1000] {
            let t = Tensor(zeros: [count])
            t.withUnsafeBufferPointer { #expect(Int(bitPattern: $0.baseAddress!) % 64 == 0) }
        }
    }

    @Test func valueSemanticsCopyOnWrite() {
        let a = Tensor(shape: [3], scalars: [1, 2, 3])
        var b = a
        b[1] = 20
        #expect(a.scalars == [1, 2, 3])
        #expect(b.scalars == [1, 20, 3])
        var c = a
        c.withUnsafeMutableBufferPointer { $0[0] = -1 }
        #expect(a[0] == 1)
        #expect(c[0] == -1)
    }

    @Test func reshapeKeepsElementsAndIsAValue() {
        let a = Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
        var b = a.reshaped(to: [3, 2])
        #expect(b.shape == [3, 2])
        #expect(b[2, 1] == 5)
        b[0, 0] = 9
        #expect(a[0, 0] == 0)
    }

    @Test func repeatingFillsEveryElement() {
        #expect(Tensor(repeating: 2.5, shape: [4, 4]).scalars.allSatisfy { $0 == 2.5 })
    }

    @Test func seededRandomIsReproducibleAndSeedDependent() {
        let a = Tensor.randomNormal([1000], seed: 7)
        let b = Tensor.randomNormal([1000], seed: 7)
        let c = Tensor.randomNormal([1000], seed: 8)
        #expect(a.scalars == b.scalars)
        #expect(a.scalars != c.scalars)
    }

    @Test func randomNormalHasRequestedMoments() {
        let t = Tensor.randomNormal([100_000], mean: 3, standardDeviation: 2, seed: 1)
        let values = t.scalars.map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
        #expect(abs(mean - 3) < 0.03)
        #expect(abs(variance.squareRoot() - 2) < 0.03)
    }

    @Test func randomUniformStaysInRange() {
        let t = Tensor.randomUniform([10_000], in: -2...5, seed: 3)
        #expect(t.scalars.allSatisfy { $0 >= -2 && $0 < 5 })
        let mean = t.scalars.reduce(0, +) / Float(t.count)
        #expect(abs(mean - 1.5) < 0.1)
    }

    @Test func approximateEqualityUsesAbsoluteAndRelativeTolerance() {
        let reference = Tensor(shape: [3], scalars: [1, 100, 0])
        let near = Tensor(shape: [3], scalars: [1.00001, 100.001, 0.000001])
        let far = Tensor(shape: [3], scalars: [1, 100.1, 0])
        #expect(near.isApproximatelyEqual(to: reference, absoluteTolerance: 1e-5, relativeTolerance: 1e-4))
        #expect(!far.isApproximatelyEqual(to: reference, absoluteTolerance: 1e-5, relativeTolerance: 1e-4))
        #expect(!reference.isApproximatelyEqual(to: Tensor(zeros: [1, 3])))
        let nan = Tensor(shape: [3], scalars: [1, .nan, 0])
        #expect(!nan.isApproximatelyEqual(to: reference))
        #expect(nan.difference(from: reference).maxAbsolute == .infinity)
    }

    @Test func shapeDescriptionAndStrides() {
        let shape: Shape = [2, 3, 4, 5]
        #expect(shape.description == "2×3×4×5")
        #expect(shape.strides == [60, 20, 5, 1])
        #expect(Shape([]).count == 1)
    }
}
