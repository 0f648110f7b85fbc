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
/// steps it runs. With at least four channels per worker (or one worker) an item is a run of
/// `channelsPerItem` whole channels and runs every step for them, segment index by segment index
/// (image by image, so a run of small planes is read as one stretch of memory), and their values
/// stay in cache from one step to the next; with fewer channels (a 3-channel input on many cores) an item is a run of
/// `segmentsPerItem` segments of one channel, and every step is its own parallel loop. The cut
/// changes only which worker computes a segment and when, never what a segment or a channel
/// computes.
struct SegmentSplit: Sendable {
    /// One step of a pass: `segments(channels, range)` computes segment s of channel c for every
    /// s in `range` (in order) and every c in `channels`; the step covers every segment of every
    /// channel, then `channel(c)` runs once per channel after all its segments are done (to
    /// combine their partial sums).
    struct Step {
        var segments: @Sendable (_ channels: Range<Int>, _ segments: Range<Int>) -> Void
        var channel: (@Sendable (_ channel: Int) -> Void)?
    }

    /// Items shorter than this many values are not worth a worker's hand-off: 16 segments.
    static let minimumItemValues = 16 * ChannelSegments.length
    /// The values of one tensor that a run of whole channels may hold, 128 KiB: the three or four
    /// tensors a pass touches (x, ∂y, the activation's output, y or ∂x) stay within a core's L2.
    static let cachedItemValues = 32 * 1024

    let segments: ChannelSegments
    let threads: Int
    /// Whole channels per item, or 0 when an item is a run of segments.
    let channelsPerItem: Int
    /// Segments per item when items are runs of segments.
    let segmentsPerItem: Int

    init(_ segments: ChannelSegments, threads: Int) {
        self.segments = segments
        let channels = segments.planes.channels, values = segments.planes.valuesPerChannel
        self.threads = channels * values < Self.minimumItemValues ? 1 : max(threads, 1)
        let smallest = Self.minimumItemValues / ChannelSegments.length
        if self.threads == 1 || channels >= 4 * self.threads {
            let balanced = self.threads == 1 ? channels : (channels + 4 * self.threads - 1) / (4 * self.threads)
            channelsPerItem = max(1, min(balanced, Self.cachedItemValues / max(values, 1)))
            segmentsPerItem = segments.perChannel
        } else {
            let groupsPerChannel = (4 * self.threads + channels - 1) / channels
            channelsPerItem = 0
            segmentsPerItem = min(segments.perChannel, max(smallest, (segments.perChannel + groupsPerChannel - 1) / groupsPerChannel))
        }
    }

    /// Runs `steps` in order over every channel (see the type's description).
    func run(_ steps: [Step]) {
        let (channels, perChannel) = (segments.planes.channels, segments.perChannel)
        if channelsPerItem > 0 {
            let items = (channels + channelsPerItem - 1) / channelsPerItem
            Parallel.forEach(items, threads: threads) { [channelsPerItem] _, item in
                let run = (item * channelsPerItem)..<min((item + 1) * channelsPerItem, channels)
                for step in steps {
                    step.segments(run, 0..<perChannel)
                    if let channel = step.channel { for c in run { channel(c) } }
                }
            }
            return
        }
        let groups = (perChannel + segmentsPerItem - 1) / segmentsPerItem
        for step in steps {
            Parallel.forEach(channels * groups, threads: threads) { [segmentsPerItem] _, item in
                let (c, group) = item.quotientAndRemainder(dividingBy: groups)
                step.segments(c..<(c + 1), (group * segmentsPerItem)..<min((group + 1) * segmentsPerItem, perChannel))
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

    /// `normalize` with `r[i]` added to each normalised value before `finish`:
    /// `y[i] = finish((((x[i] − shift) − correction)·a + b) + r[i])`.
    @inline(__always)
    static func normalize(_ x: UnsafePointer<Float>, adding r: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
                          shift: Float, correction: Float, _ a: Float, _ b: Float, _ finish: (Vector) -> Vector) {
        let (mv, cv, av, bv) = (Vector(repeating: shift), Vector(repeating: correction), Vector(repeating: a), Vector(repeating: b))
        var i = 0
        while i + 16 <= count {
            store(finish((((load(x, i) - mv) - cv) * av + bv) + load(r, i)), y, i)
            i += 16
        }
        if i < count {
            let n = count - i
            storeTail(finish((((loadTail(x, i, n) - mv) - cv) * av + bv) + loadTail(r, i, n)), y, i, n)
        }
    }

    /// `(Σ g[i], Σ g[i]·(x[i] − mean))`.
    @inline(__always)
    static func gradientSums(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count: Int, mean: Float) -> (Float, Float) {
        let m = Vector(repeating: mean)
        var (s1, s2) = (Vector(), Vector())
        var i = 0
        while i + 16 <= count {
            let gv = load(g, i)
            s1 += gv
            s2 += gv * (load(x, i) - m)
            i += 16
        }
        if i < count {
            let n = count - i
            let gv = loadTail(g, i, n)
            s1 += gv
            s2 += gv * keep(loadTail(x, i, n) - m, lanes: n)
        }
        return (total(s1), total(s2))
    }

    /// `g[i] = ∂y[i]·(output[i] > 0 ? 1 : slope)` (an activation's derivative, as
    /// `activationBackward` applies it), stored, and `(Σ g[i], Σ g[i]·(x[i] − mean))`.
    @inline(__always)
    static func maskedGradientSums(_ dy: UnsafePointer<Float>, output: UnsafePointer<Float>, slope: Float, into g: UnsafeMutablePointer<Float>,
                                   _ x: UnsafePointer<Float>, count: Int, mean: Float) -> (Float, Float) {
        let (m, one, other) = (Vector(repeating: mean), Vector(repeating: 1), Vector(repeating: slope))
        var (s1, s2) = (Vector(), Vector())
        var i = 0
        while i + 16 <= count {
            let gv = load(dy, i) * other.replacing(with: one, where: load(output, i) .> 0)
            store(gv, g, i)
            s1 += gv
            s2 += gv * (load(x, i) - m)
            i += 16
        }
        if i < count {
            let n = count - i
            let gv = loadTail(dy, i, n) * other.replacing(with: one, where: loadTail(output, i, n) .> 0)
            storeTail(gv, g, i, n)
            s1 += gv
            s2 += gv * keep(loadTail(x, i, n) - m, lanes: n)
        }
        return (total(s1), total(s2))
    }

    /// `∂x[i] = a·((g[i] − b) − (x[i] − mean)·c)`; `dx` may be `g`.
    @inline(__always)
    static func inputGradient(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, count: Int,
                              mean: Float, _ a: Float, _ b: Float, _ c: Float) {
        let (m, av, bv, cv) = (Vector(repeating: mean), Vector(repeating: a), Vector(repeating: b), Vector(repeating: c))
        var i = 0
        while i + 16 <= count {
            store(av * ((load(g, i) - bv) - (load(x, i) - m) * cv), dx, i)
            i += 16
        }
        if i < count {
            let n = count - i
            storeTail(av * ((loadTail(g, i, n) - bv) - (loadTail(x, i, n) - m) * cv), dx, i, n)
        }
    }
}
