import Foundation

/// A small, fast, seedable random number generator (xoshiro256**, seeded through SplitMix64),
/// so that every random tensor, initialisation and shuffle in Fovea is reproducible from a seed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var words: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var splitMix = seed
        func next() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitMix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        words = (next(), next(), next(), next())
    }

    /// The generator's full state, to save and restore it exactly (e.g. in checkpoints).
    public var state: [UInt64] {
        get { [words.0, words.1, words.2, words.3] }
        set {
            fatalUnless(newValue.count == 4, "SeededGenerator state has 4 words, got \(newValue.count)")
            words = (newValue[0], newValue[1], newValue[2], newValue[3])
        }
    }

    public mutating func next() -> UInt64 {
        let result = rotateLeft(words.1 &* 5, by: 7) &* 9
        let t = words.1 << 17
        words.2 ^= words.0
        words.3 ^= words.1
        words.1 ^= words.2
        words.0 ^= words.3
        words.2 ^= t
        words.3 = rotateLeft(words.3, by: 45)
        return result
    }

    private func rotateLeft(_ x: UInt64, by k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform Float in `[0, 1)` with 24 random bits.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / Float(1 << 24))
    }

    /// A standard normal sample (Box–Muller, computed in Double).
    public mutating func nextStandardNormal() -> Float {
        var u1 = Double(next() >> 11) * (1.0 / Double(UInt64(1) << 53))
        if u1 < 1e-300 { u1 = 1e-300 }
        let u2 = Double(next() >> 11) * (1.0 / Double(UInt64(1) << 53))
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

