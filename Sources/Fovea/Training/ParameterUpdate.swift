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

extension ParameterState {
    /// Whether `parameter` has state (it has been stepped before).
    func contains(_ parameter: Parameter) -> Bool { values[ObjectIdentifier(parameter)] != nil }

    /// Removes and returns the state of `parameter`, so that the caller updates a uniquely held
    /// tensor in place (no copy on write) and stores it back.
    mutating func take(_ parameter: Parameter) -> Tensor? {
        values.removeValue(forKey: ObjectIdentifier(parameter))
    }
}
