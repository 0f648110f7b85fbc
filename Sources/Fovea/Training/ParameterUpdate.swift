/// How optimisers apply their element-wise updates: in place, over chunks of consecutive
/// elements spread over the current device's threads (`Devices.current.threadCount`; `Trainer`
/// makes its device current for the step). Every element is updated by one formula that reads
/// only that element, so the results do not depend on the thread count or the chunking.
enum ParameterUpdate {
    /// Elements per work item: large enough that scheduling costs nothing beside the memory traffic.
    static let chunk = 1 << 16

    /// Calls `body(range)` for consecutive ranges covering `0..<count`, in parallel.
    static func forEachChunk(_ count: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let items = (count + chunk - 1) / chunk
        Parallel.forEach(items, threads: Devices.current.threadCount) { _, item in
            body((item * chunk)..<min((item + 1) * chunk, count))
        }
    }
}

extension ParameterUpdate {
    typealias Lanes = SIMD8<Float>

    /// Calls `update(g, &s₁, &s₂, &p)` on eight consecutive elements at a time over `range`: the
    /// gradient, two state tensors (the same pointer twice when the rule keeps one) and the
    /// parameter. `s₁` and `s₂` are stored back where `stores` says, `p` always. The last partial
    /// eight go through zero-padded lanes that are not stored. Vector operations act lane by lane,
    /// so each element gets the bits the same formula gives it alone.
    @inline(__always)
    static func eightAtATime(_ range: Range<Int>, gradient g: UnsafeMutablePointer<Float>, _ s1: UnsafeMutablePointer<Float>,
                             _ s2: UnsafeMutablePointer<Float>, parameter p: UnsafeMutablePointer<Float>, stores: (Bool, Bool),
                             _ update: (Lanes, inout Lanes, inout Lanes, inout Lanes) -> Void) {
        func load(_ pointer: UnsafeMutablePointer<Float>, _ i: Int) -> Lanes { UnsafeRawPointer(pointer + i).loadUnaligned(as: Lanes.self) }
        func store(_ lanes: Lanes, _ pointer: UnsafeMutablePointer<Float>, _ i: Int) {
            UnsafeMutableRawPointer(pointer + i).storeBytes(of: lanes, as: Lanes.self)
        }
        var i = range.lowerBound
        while i + Lanes.scalarCount <= range.upperBound {
            var (a, b, q) = (load(s1, i), load(s2, i), load(p, i))
            update(load(g, i), &a, &b, &q)
            if stores.0 { store(a, s1, i) }
            if stores.1 { store(b, s2, i) }
            store(q, p, i)
            i += Lanes.scalarCount
        }
        let rest = range.upperBound - i
        guard rest > 0 else { return }
        var (gradient, a, b, q) = (Lanes(), Lanes(), Lanes(), Lanes())
        for lane in 0..<rest { (gradient[lane], a[lane], b[lane], q[lane]) = (g[i + lane], s1[i + lane], s2[i + lane], p[i + lane]) }
        update(gradient, &a, &b, &q)
        for lane in 0..<rest {
            if stores.0 { s1[i + lane] = a[lane] }
            if stores.1 { s2[i + lane] = b[lane] }
            p[i + lane] = q[lane]
        }
    }
}

extension ParameterState {
    /// Whether `parameter` has state (it has been stepped before).
    func contains(_ parameter: Parameter) -> Bool { values[ObjectIdentifier(parameter)] != nil }

    /// Removes and returns the state of `parameter`, so that the caller updates a uniquely held
    /// tensor in place (no copy on write) and stores it back.
    mutating func take(_ parameter: Parameter) -> Tensor? {
        values.removeValue(forKey: ObjectIdentifier(parameter))
    }
}
