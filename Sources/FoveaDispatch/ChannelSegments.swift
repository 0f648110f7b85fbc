import FoveaCore

/// The fixed partition that batch norm in training mode sums over. Channel c of an `[N, C, H, W]`
/// tensor holds M = N·H·W values in N planes of P = H·W contiguous floats; each plane is cut into
/// ⌈P / `length`⌉ segments of at most `length` values, so a channel has N·⌈P / `length`⌉
/// segments, numbered image by image.
///
/// A sum over a channel is one `Float` partial per segment (`SegmentKernels`: 16 lanes, then a
/// tree over the lanes), and the partials added in `Double` in segment order. The partition and
/// the order depend on the shape only, so the sums are the same whichever worker computes which
/// segment: bit-identical at any thread count. Each lane adds at most `length`/16 = 64 values.
struct ChannelSegments: Sendable {
    /// The longest segment, in values.
    static let length = 1024

    let planes: ChannelPlanes
    /// Segments per plane: ⌈P / `length`⌉ (at least 1).
    let perPlane: Int

    init(_ planes: ChannelPlanes) {
        self.planes = planes
        perPlane = max(1, (planes.plane + Self.length - 1) / Self.length)
    }

    /// N·⌈P / `length`⌉.
    var perChannel: Int { planes.batch * perPlane }

    /// Segment `s` of channel `c`: the flat index of its first value and its length.
    @inline(__always)
    func segment(channel c: Int, _ s: Int) -> (start: Int, count: Int) {
        let (n, k) = s.quotientAndRemainder(dividingBy: perPlane)
        let first = k * Self.length
        return (planes[n, c, first], min(Self.length, planes.plane - first))
    }
}

/// How a batch-norm pass over `ChannelSegments` is cut into items for `Parallel.forEach`, and the
/// steps it runs. With at least four channels per worker (or one worker) an item is a whole
/// channel and runs every step for it, so its values stay in cache from one step to the next;
/// with fewer channels (a 3-channel input on many cores) an item is a run of `groupSize`
/// segments of one channel, and every step is its own parallel loop. The cut changes only which
/// worker computes a segment, never what a segment or a channel computes.
struct SegmentSplit: Sendable {
    /// One step of a pass: `segments(c, range)` for every channel's segments, then `channel(c)`
    /// once per channel after all its segments are done (to combine their partial sums).
    struct Step {
        var segments: @Sendable (_ channel: Int, _ segments: Range<Int>) -> Void
        var channel: (@Sendable (_ channel: Int) -> Void)?
    }

    /// Items shorter than this many values are not worth a worker's hand-off: 16 segments.
    static let minimumItemValues = 16 * ChannelSegments.length

    let segments: ChannelSegments
    let threads: Int
    /// Segments per item; `segments.perChannel` when an item is a whole channel.
    let groupSize: Int

    init(_ segments: ChannelSegments, threads: Int) {
        self.segments = segments
        let channels = segments.planes.channels
        let total = channels * segments.planes.valuesPerChannel
        self.threads = total < Self.minimumItemValues ? 1 : max(threads, 1)
        if self.threads == 1 || channels >= 4 * self.threads {
            groupSize = segments.perChannel
        } else {
            let groupsPerChannel = (4 * self.threads + channels - 1) / channels
            let smallest = Self.minimumItemValues / ChannelSegments.length
            groupSize = min(segments.perChannel, max(smallest, (segments.perChannel + groupsPerChannel - 1) / groupsPerChannel))
        }
    }

    var wholeChannels: Bool { groupSize == segments.perChannel }

    /// Runs `steps` in order over every channel (see the type's description).
    func run(_ steps: [Step]) {
        let channels = segments.planes.channels, perChannel = segments.perChannel
        if wholeChannels {
            Parallel.forEach(channels, threads: threads) { _, c in
                for step in steps {
                    step.segments(c, 0..<perChannel)
                    step.channel?(c)
                }
            }
            return
        }
        let groups = (perChannel + groupSize - 1) / groupSize
        for step in steps {
            Parallel.forEach(channels * groups, threads: threads) { _, item in
                let (c, group) = item.quotientAndRemainder(dividingBy: groups)
                step.segments(c, (group * groupSize)..<min((group + 1) * groupSize, perChannel))
            }
            if let channel = step.channel { for c in 0..<channels { channel(c) } }
        }
    }
}

/// The inner loops of batch norm in training mode over one segment of `count` ≤
/// `ChannelSegments.length` contiguous floats, 16 lanes at a time in `Float`; the last
/// `count mod 16` values go through one zero-padded vector whose unused lanes are masked out of
/// every sum. A sum accumulates each lane in order and ends with a tree over the 16 lanes
/// (`total`), so it depends only on the values and `count`.
enum SegmentKernels {
    typealias Vector = SIMD16<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ i: Int) -> Vector {
        UnsafeRawPointer(p + i).loadUnaligned(as: Vector.self)
    }

    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: Vector.self)
    }

    /// `p[i ..< i + n]` in lanes 0..<n, zeros in the rest (n < 16).
    @inline(__always)
    static func loadTail(_ p: UnsafePointer<Float>, _ i: Int, _ n: Int) -> Vector {
        var v = Vector()
        for j in 0..<n { v[j] = p[i + j] }
        return v
    }

    @inline(__always)
    static func storeTail(_ v: Vector, _ p: UnsafeMutablePointer<Float>, _ i: Int, _ n: Int) {
        for j in 0..<n { p[i + j] = v[j] }
    }

    /// `v` with lanes n… set to zero.
    @inline(__always)
    static func keep(_ v: Vector, lanes n: Int) -> Vector {
        v.replacing(with: 0, where: SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) .>= SIMD16<Int32>(repeating: Int32(n)))
    }

    /// The sum of the 16 lanes as a tree: halves, quarters, eighths, then the last two.
    @inline(__always)
    static func total(_ v: Vector) -> Float {
        let eight = v.lowHalf + v.highHalf
        let four = eight.lowHalf + eight.highHalf
        let two = four.lowHalf + four.highHalf
        return two[0] + two[1]
    }

    /// `Σ x[i]`.
    @inline(__always)
    static func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var s = Vector()
        var i = 0
        while i + 16 <= count {
            s += load(x, i)
            i += 16
        }
        if i < count { s += loadTail(x, i, count - i) }
        return total(s)
    }

    /// `(Σ (x[i] − shift), Σ (x[i] − shift)²)`.
    @inline(__always)
    static func deviationSums(_ x: UnsafePointer<Float>, count: Int, shift: Float) -> (Float, Float) {
        let m = Vector(repeating: shift)
        var (s1, s2) = (Vector(), Vector())
        var i = 0
        while i + 16 <= count {
            let d = load(x, i) - m
            s1 += d
            s2 += d * d
            i += 16
        }
        if i < count {
            let d = keep(loadTail(x, i, count - i) - m, lanes: count - i)
            s1 += d
            s2 += d * d
        }
        return (total(s1), total(s2))
    }

    /// `y[i] = finish(((x[i] − shift) − correction)·a + b)`.
    @inline(__always)
    static func normalize(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, shift: Float, correction: Float,
                          _ a: Float, _ b: Float, _ finish: (Vector) -> Vector) {
        let (mv, cv, av, bv) = (Vector(repeating: shift), Vector(repeating: correction), Vector(repeating: a), Vector(repeating: b))
        var i = 0
        while i + 16 <= count {
            store(finish(((load(x, i) - mv) - cv) * av + bv), y, i)
            i += 16
        }
        if i < count { storeTail(finish(((loadTail(x, i, count - i) - mv) - cv) * av + bv), y, i, count - i) }
    }

    /// `(Σ g[i], Σ g[i]·(x[i] − mean))` with `g[i] = gradient(∂y, i)`: ∂y itself, or ∂y times the
    /// derivative of a fused activation.
    @inline(__always)
    static func gradientSums(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count: Int, mean: Float,
                             _ gradient: (Vector, Int, Int) -> Vector) -> (Float, Float) {
        let m = Vector(repeating: mean)
        var (s1, s2) = (Vector(), Vector())
        var i = 0
        while i + 16 <= count {
            let g = gradient(load(dy, i), i, 16)
            s1 += g
            s2 += g * (load(x, i) - m)
            i += 16
        }
        if i < count {
            let n = count - i
            let g = keep(gradient(loadTail(dy, i, n), i, n), lanes: n)
            s1 += g
            s2 += g * keep(loadTail(x, i, n) - m, lanes: n)
        }
        return (total(s1), total(s2))
    }

    /// `g·(output > 0 ? 1 : slope)` lane by lane (the activation's derivative, as
    /// `activationBackward` takes it), with the n ≤ 16 values of `output` from index i.
    @inline(__always)
    static func derivative(_ g: Vector, _ output: UnsafePointer<Float>, _ i: Int, _ n: Int, slope: Float) -> Vector {
        let o = n == 16 ? load(output, i) : loadTail(output, i, n)
        return g * Vector(repeating: slope).replacing(with: 1, where: o .> 0)
    }

    /// `∂x[i] = a·((g[i] − b) − (x[i] − mean)·c)` with `g[i] = gradient(∂y, i)`.
    @inline(__always)
    static func inputGradient(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, count: Int,
                              mean: Float, _ a: Float, _ b: Float, _ c: Float, _ gradient: (Vector, Int, Int) -> Vector) {
        let (m, av, bv, cv) = (Vector(repeating: mean), Vector(repeating: a), Vector(repeating: b), Vector(repeating: c))
        var i = 0
        while i + 16 <= count {
            store(av * ((gradient(load(dy, i), i, 16) - bv) - (load(x, i) - m) * cv), dx, i)
            i += 16
        }
        if i < count {
            let n = count - i
            storeTail(av * ((gradient(loadTail(dy, i, n), i, n) - bv) - (loadTail(x, i, n) - m) * cv), dx, i, n)
        }
    }
}
