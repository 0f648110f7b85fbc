import Foundation

/// Wall-clock timing and robust statistics for the benchmark.
public enum Statistics {
    /// Seconds taken by `body`, measured with the monotonic clock.
    public static func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// The middle value (the mean of the two middle values for an even count); NaN when empty.
    public static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The value at quantile q (0…1) by linear interpolation between order statistics.
    public static func quantile(_ values: [Double], _ q: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let position = q * Double(sorted.count - 1)
        let low = Int(position.rounded(.down)), high = Int(position.rounded(.up))
        return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
    }

    /// Half the interquartile range relative to the median: a robust ± spread (0.05 = ±5%).
    public static func relativeSpread(_ values: [Double]) -> Double {
        guard values.count >= 2 else { return 0 }
        return (quantile(values, 0.75) - quantile(values, 0.25)) / 2 / median(values)
    }

    /// The geometric mean of positive values; NaN when empty or any value is not positive.
    public static func geometricMean(_ values: [Double]) -> Double {
        guard !values.isEmpty, values.allSatisfy({ $0 > 0 }) else { return .nan }
        return exp(values.map { log($0) }.reduce(0, +) / Double(values.count))
    }
}
