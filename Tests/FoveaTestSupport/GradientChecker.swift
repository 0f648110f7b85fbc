import Fovea

/// Central finite differences, Caffe-style, for checking backward passes.
///
/// To check `∂L/∂x` of a function `f(x)` with an analytic backward pass, use the scalar loss
/// `L(x) = Σ f(x) · g` with a fixed random `g`; its gradient is the backward pass applied to `g`.
/// For each checked element, `(L(x + h·eᵢ) − L(x − h·eᵢ)) / 2h` is compared with the analytic
/// value within `tolerance · max(|numeric|, |analytic|, floor)`. Losses are summed in Double.
public struct GradientChecker {
    public var step: Float
    public var tolerance: Float
    public var floor: Float
    /// At most this many elements are checked (spread evenly), to keep tests fast.
    public var maxChecks: Int

    public init(step: Float = 1e-2, tolerance: Float = 1e-2, floor: Float = 1e-2, maxChecks: Int = 64) {
        self.step = step
        self.tolerance = tolerance
        self.floor = floor
        self.maxChecks = maxChecks
    }

    /// One disagreement between the numeric and the analytic gradient.
    public struct Failure: CustomStringConvertible {
        public var index: Int
        public var numeric: Double
        public var analytic: Double
        public var description: String { "element \(index): numeric \(numeric), analytic \(analytic)" }
    }

    /// `Σ output · projection`, in Double.
    public static func projectedLoss(_ output: Tensor, _ projection: Tensor) -> Double {
        precondition(output.shape == projection.shape, "projection \(projection.shape) must match output \(output.shape)")
        let a = output.scalars, b = projection.scalars
        var sum: Double = 0
        for i in a.indices { sum += Double(a[i]) * Double(b[i]) }
        return sum
    }

    /// Compares `analytic` with central differences of `loss` around `point`.
    /// - Returns: the elements that disagree (empty when the gradient is right).
    public func check(at point: Tensor, analytic: Tensor, loss: (Tensor) throws -> Double) rethrows -> [Failure] {
        precondition(point.shape == analytic.shape, "gradient \(analytic.shape) must match the point \(point.shape)")
        var failures: [Failure] = []
        let stride = max(1, point.count / maxChecks)
        for index in Swift.stride(from: 0, to: point.count, by: stride) {
            var plus = point, minus = point
            plus[flat: index] += step
            minus[flat: index] -= step
            let numeric = (try loss(plus) - loss(minus)) / (2 * Double(step))
            let exact = Double(analytic[flat: index])
            let scale = max(abs(numeric), abs(exact), Double(floor))
            if abs(numeric - exact) > Double(tolerance) * scale {
                failures.append(Failure(index: index, numeric: numeric, analytic: exact))
            }
        }
        return failures
    }
}
