import Foundation

/// Checks, before allocating, that a tensor or image fits in memory, so a size too large to
/// allocate is a `FoveaError` naming the shape and what it is for rather than a fatal error
/// (`calloc` failing) or a machine driven into swap.
///
///     bytes = d₀·d₁·…·dₙ₋₁ · elementSize        (overflow-checked)
///     allowed when bytes ≤ limit, limit = physical memory (`ProcessInfo.physicalMemory`)
///
/// The check covers one allocation; an operation that needs several of the same size (input,
/// output, workspace) still fails later if their sum does not fit, but never because one
/// request alone was impossible.
public enum AllocationLimit {
    /// The physical memory of this machine, in bytes.
    public static let physicalMemory: Int = Int(clamping: ProcessInfo.processInfo.physicalMemory)

    /// `dimensions` multiplied together and by `elementSize`; nil when that overflows `Int` or a
    /// dimension is negative.
    public static func bytes(of dimensions: [Int], elementSize: Int = MemoryLayout<Float>.stride) -> Int? {
        var total = elementSize
        for size in dimensions {
            guard size >= 0 else { return nil }
            let (product, overflow) = total.multipliedReportingOverflow(by: size)
            if overflow { return nil }
            total = product
        }
        return total
    }

    /// Throws unless `dimensions` elements of `elementSize` bytes fit in `limit`.
    /// - Parameter purpose: what the memory is for, e.g. "the padded image of filter sharpen".
    /// - Throws: `.invalidArgument` naming the purpose, the shape, the bytes and the limit.
    public static func check(_ dimensions: [Int], elementSize: Int = MemoryLayout<Float>.stride, for purpose: String,
                             limit: Int = physicalMemory) throws {
        let shape = dimensions.map(String.init).joined(separator: "×")
        guard let bytes = bytes(of: dimensions, elementSize: elementSize) else {
            throw FoveaError.invalidArgument(
                "\(purpose): a tensor of shape \(shape) needs more bytes than a 64-bit size can count; the limit is \(describe(limit)) of physical memory")
        }
        guard bytes <= limit else {
            throw FoveaError.invalidArgument(
                "\(purpose): a tensor of shape \(shape) needs \(describe(bytes)), more than the \(describe(limit)) of physical memory")
        }
    }

    /// `check` for a `Shape` of Floats.
    public static func check(_ shape: Shape, for purpose: String, limit: Int = physicalMemory) throws {
        try check(shape.dimensions, for: purpose, limit: limit)
    }

    /// "60.2 GB (60,211,200,000 bytes)".
    static func describe(_ bytes: Int) -> String {
        let digits = String(bytes)
        let grouped = digits.enumerated().map { index, digit in
            index > 0 && (digits.count - index) % 3 == 0 ? ",\(digit)" : String(digit)
        }.joined()
        let units: [(Double, String)] = [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")]
        guard let (scale, unit) = units.first(where: { Double(bytes) >= $0.0 }) else { return "\(grouped) bytes" }
        return String(format: "%.1f %@ (%@ bytes)", Double(bytes) / scale, unit, grouped)
    }
}
