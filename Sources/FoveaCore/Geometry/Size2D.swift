/// A pair of sizes for the two spatial axes, height first. An integer literal sets both:
/// `stride: 2` is `Size2D(height: 2, width: 2)`.
public struct Size2D: Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public var height: Int
    public var width: Int

    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
    }

    public init(_ both: Int) { self.init(height: both, width: both) }
    public init(integerLiteral value: Int) { self.init(value) }

    public var description: String { height == width ? "\(height)" : "(\(height), \(width))" }
}
