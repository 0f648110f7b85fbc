import Foundation

/// Wall-clock timing and robust statistics for the benchmark.
enum Timing {
    /// Seconds taken by `body`, measured with the monotonic clock.
    static func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Half the distance between the 25th and 75th percentiles, relative to the median.
    static func relativeSpread(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard sorted.count >= 2 else { return 0 }
        let low = sorted[sorted.count / 4], high = sorted[(3 * sorted.count) / 4]
        return (high - low) / 2 / median(values)
    }
}
