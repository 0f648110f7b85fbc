import Fovea

/// Consecutive trainable parameters (in reverse forward order) whose gradients are summed across
/// ranks by one allreduce: backward fills a bucket from its first parameter to its last, and the
/// bucket is sent as soon as all of them have their gradient.
///
/// The bucket owns one flat Float buffer: parameter i's gradient occupies
/// `offsets[i] ..< offsets[i] + parameters[i].value.count`.
final class GradientBucket {
    let index: Int
    let parameters: [Parameter]
    let offsets: [Int]
    let storage: UnsafeMutableBufferPointer<Float>
    /// Which of `parameters` have received their gradient in this step, and how many.
    private var ready: [Bool]
    private(set) var readyCount = 0
    /// The allreduce in flight, once the bucket has been sent.
    var pending: [PendingCollective]?

    init(index: Int, parameters: [Parameter]) {
        self.index = index
        self.parameters = parameters
        var offsets: [Int] = [], total = 0
        for parameter in parameters {
            offsets.append(total)
            total += parameter.value.count
        }
        self.offsets = offsets
        ready = Array(repeating: false, count: parameters.count)
        storage = .allocate(capacity: max(total, 1))
        storage.initialize(repeating: 0)
    }

    deinit { storage.deallocate() }

    /// The number of gradient values the bucket sums.
    var count: Int { offsets.last.map { $0 + parameters.last!.value.count } ?? 0 }

    /// `bucket 2 (3 parameters, 1.2 MB)`, for errors.
    var label: String { "gradient bucket \(index) (\(parameters.count) parameters, \(String(format: "%.1f", Double(count * 4) / 1e6)) MB)" }

    var isComplete: Bool { readyCount == parameters.count }

    /// Marks parameter `slot` as having its gradient (again: counted once).
    func markReady(_ slot: Int) {
        guard !ready[slot] else { return }
        ready[slot] = true
        readyCount += 1
    }

    /// Clears the step's state.
    func reset() {
        ready = Array(repeating: false, count: parameters.count)
        readyCount = 0
        pending = nil
    }

    /// Copies every parameter's gradient into the buffer (zeros for one without a gradient).
    func gather() {
        for (parameter, offset) in zip(parameters, offsets) {
            let slot = UnsafeMutableBufferPointer(rebasing: storage[offset..<(offset + parameter.value.count)])
            if let gradient = parameter.gradient {
                gradient.withUnsafeBufferPointer { _ = slot.update(fromContentsOf: $0) }
            } else {
                slot.update(repeating: 0)
            }
        }
    }

    /// Writes the summed buffer back as every parameter's gradient, into the gradient's own
    /// storage (a copy through a second reference would allocate the gradient anew every step).
    func scatter() {
        for (parameter, offset) in zip(parameters, offsets) {
            let summed = UnsafeBufferPointer(rebasing: storage[offset..<(offset + parameter.value.count)])
            if parameter.gradient == nil { parameter.gradient = Tensor(zeros: parameter.shape) }
            parameter.gradient!.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: summed) }
        }
    }
}
