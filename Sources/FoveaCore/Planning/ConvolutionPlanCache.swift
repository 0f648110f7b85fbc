/// The plans one device has made, per (geometry, pass): a layer's pass is planned at its first
/// call and run with the same plan after. Shared by copies of the device (a reference type).
/// `Plan` is the backend's plan type (`ConvolutionPlan`, or one carrying its drivers' blocking).
public final class ConvolutionPlanCache<Plan: Sendable>: Sendable {
    private struct Key: Hashable {
        var geometry: Conv2DGeometry
        var pass: ConvolutionPass
    }

    /// The most plans kept; past it the cache starts again empty (plans are cheap to remake).
    public static var capacity: Int { 1024 }

    private let plans = Lock([Key: Plan]())

    public init() {}

    /// The kept plan for `pass` of `g`, or `make()`'s, kept when it returns one.
    public func plan(for g: Conv2DGeometry, pass: ConvolutionPass, make: () throws -> Plan) rethrows -> Plan {
        let key = Key(geometry: g, pass: pass)
        if let kept = plans.withLock({ $0[key] }) { return kept }
        let plan = try make()
        plans.withLock { plans in
            if plans.count >= Self.capacity { plans.removeAll() }
            plans[key] = plan
        }
        return plan
    }
}
