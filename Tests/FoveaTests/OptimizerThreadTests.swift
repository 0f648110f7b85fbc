import Foundation
import Fovea
import FoveaTestSupport
import Testing

/// The optimisers update in place over chunks spread on the current device's threads: the same
/// bits at any thread count, and the documented formulas element by element.
@Suite("Optimizer updates across threads")
struct OptimizerThreadTests {
    /// More elements than one chunk of `ParameterUpdate`, and not a multiple of it.
    static let count = 3 * (1 << 16) + 123

    static func parameter(seed: UInt64) -> Parameter {
        let parameter = Parameter(Tensor.randomNormal([Self.count], seed: seed))
        parameter.gradient = Tensor.randomNormal([Self.count], seed: seed &+ 1)
        return parameter
    }

    /// Three steps (the gradient kept) at `threads` threads; the parameter's final value.
    static func run(threads: Int, _ make: ([Parameter]) throws -> any Optimizer) throws -> Tensor {
        let parameter = Self.parameter(seed: 7)
        let optimizer = try make([parameter])
        try Devices.with(try Devices.make("dispatch", threads: threads)) {
            for _ in 0..<3 { optimizer.step() }
        }
        return parameter.value
    }

    @Test func sgdAndAdamGiveTheSameBitsAtAnyThreadCount() throws {
        let makers: [(String, ([Parameter]) throws -> any Optimizer)] = [
            ("sgd", { try SGD($0, learningRate: 0.1) }),
            ("sgd momentum, weight decay", { try SGD($0, learningRate: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 1e-2) }),
            ("sgd nesterov", { try SGD($0, learningRate: 0.1, momentum: 0.9, nesterov: true) }),
            ("adam", { try Adam([ParameterGroup($0)], learningRate: 1e-2, weightDecay: 1e-2) }),
            ("adamw", { try Adam([ParameterGroup($0)], learningRate: 1e-2, weightDecay: 1e-2, decoupledWeightDecay: true) }),
        ]
        for (name, make) in makers {
            let one = try Self.run(threads: 1, make)
            for threads in [2, 3, 8] { expectIdentical(try Self.run(threads: threads, make), one, "\(name) at \(threads) threads") }
        }
    }

    /// SGD with momentum and Nesterov, written out element by element: b₁ = g, b ← μ·b + (1 − d)·g,
    /// p ← p − lr·(g + μ·b) (d = 0 with Nesterov).
    @Test func sgdFollowsItsFormulas() throws {
        let parameter = Self.parameter(seed: 3)
        let (p0, g) = (parameter.value.scalars, parameter.gradient!.scalars)
        let (lr, mu, wd): (Float, Float, Float) = (0.05, 0.8, 0.01)
        let optimizer = try SGD([parameter], learningRate: lr, momentum: mu, nesterov: true, weightDecay: wd)
        try Devices.with(try Devices.make("dispatch", threads: 2)) { optimizer.step(); optimizer.step() }
        var (p, b) = (p0, [Float](repeating: 0, count: Self.count))
        for step in 0..<2 {
            for i in 0..<Self.count {
                let d = g[i] + wd * p[i]
                b[i] = step == 0 ? d : mu * b[i] + (1 - 0) * d
                p[i] += -lr * (d + mu * b[i])
            }
        }
        expectIdentical(parameter.value, Tensor(shape: [Self.count], scalars: p), "sgd nesterov")
    }

    /// Adam written out element by element in Float: m ← β₁·m + (1 − β₁)·g, v ← β₂·v + (1 − β₂)·g·g,
    /// p ← p − lr·(m/c₁)/(√(v/c₂) + ε) with c = 1 − βᵗ — the same bits as the vector update.
    @Test func adamFollowsItsFormulas() throws {
        let parameter = Self.parameter(seed: 9)
        let (p0, g) = (parameter.value.scalars, parameter.gradient!.scalars)
        let (lr, b1, b2, eps): (Float, Float, Float, Float) = (1e-2, 0.9, 0.999, 1e-8)
        let optimizer = try Adam([parameter], learningRate: lr, beta1: b1, beta2: b2, epsilon: eps)
        try Devices.with(try Devices.make("dispatch", threads: 2)) { optimizer.step(); optimizer.step() }
        var (p, m, v) = (p0, [Float](repeating: 0, count: Self.count), [Float](repeating: 0, count: Self.count))
        for t in 1...2 {
            let (c1, c2) = (1 - Float(pow(Double(b1), Double(t))), 1 - Float(pow(Double(b2), Double(t))))
            for i in 0..<Self.count {
                m[i] = b1 * m[i] + (1 - b1) * g[i]
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                p[i] -= lr * (m[i] / c1) / ((v[i] / c2).squareRoot() + eps)
            }
        }
        expectIdentical(parameter.value, Tensor(shape: [Self.count], scalars: p), "adam")
    }

    /// Plain SGD (no momentum) keeps no buffer and reads only the parameter and its gradient. The
    /// parameter is large (128 MiB) so that reading `count` elements from anywhere else would
    /// run off the mapped memory and crash (it did: the empty buffer's pointer stood in for them).
    @Test func sgdWithoutMomentumReadsOnlyItsTensors() throws {
        let count = 1 << 25
        let parameter = Parameter(Tensor(repeating: 1, shape: [count]))
        parameter.gradient = Tensor(repeating: 4, shape: [count])
        let optimizer = try SGD([parameter], learningRate: 0.25)
        try Devices.with(try Devices.make("dispatch", threads: 2)) { optimizer.step() }
        #expect(optimizer.stateTensors(names: [ObjectIdentifier(parameter): "p"]).isEmpty, "no momentum buffer")
        let wrong = parameter.value.withUnsafeBufferPointer { $0.firstIndex { $0 != 0 } }
        #expect(wrong == nil, "1 − 0.25·4 = 0 everywhere; first element that is not: \(String(describing: wrong))")
    }

    /// A step writes into the parameter's and the momentum buffer's storage: no copy on write.
    @Test func sgdUpdatesInPlace() throws {
        let parameter = Self.parameter(seed: 5)
        let optimizer = try SGD([parameter], learningRate: 0.1, momentum: 0.9)
        func addresses() -> [UnsafeRawPointer?] {
            let momentum = optimizer.stateTensors(names: [ObjectIdentifier(parameter): "p"]).first?.tensor
            return [parameter.value, momentum].map { $0?.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) } }
        }
        try Devices.with(try Devices.make("dispatch", threads: 2)) {
            optimizer.step()
            let before = addresses()
            optimizer.step()
            #expect(before[1] != nil, "SGD with momentum keeps a buffer")
            #expect(addresses() == before, "parameter and momentum buffer addresses before and after a step")
        }
    }

    /// Adam's moments are updated where they are: no copy on write.
    @Test func adamUpdatesInPlace() throws {
        let parameter = Self.parameter(seed: 6)
        let optimizer = try Adam([parameter], learningRate: 1e-3)
        func addresses() -> [UnsafeRawPointer?] {
            let state = optimizer.stateTensors(names: [ObjectIdentifier(parameter): "p"])
            return ([parameter.value] + state.filter { $0.name != "p.step" }.map(\.tensor)).map { $0.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) } }
        }
        try Devices.with(try Devices.make("dispatch", threads: 2)) {
            optimizer.step()
            let before = addresses()
            optimizer.step()
            #expect(before.count == 3, "the parameter and both moments")
            #expect(addresses() == before, "parameter and moment addresses before and after a step")
        }
    }
}
