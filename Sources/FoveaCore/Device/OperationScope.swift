/// Which part of a model the device operations running now belong to.
///
/// Devices do not know which layer calls them. A layer (or any caller that wants its operations
/// attributed) runs its work inside `OperationScope.run(_:device:_:)`; a device reads
/// `OperationScope.current` when it wants to say where an operation came from (the checking
/// device uses it to key its report by layer). Scopes nest: the innermost name wins, so an
/// operation is attributed to the leaf layer that issued it. The value is task-local, like
/// `Devices.current`.
public enum OperationScope {
    /// The innermost scope's name (a layer's qualified name, e.g. `layer1.0.conv1`), or nil
    /// outside every scope.
    @TaskLocal public static var current: String?

    /// Runs `body` with `name` as `current`; afterwards, if `device` noticed a problem inside an
    /// operation (operations cannot throw), throws it here.
    /// - Throws: what `body` throws, else the device's pending error (`DeferredErrorReporting`).
    public static func run<R>(_ name: String, device: any Device, _ body: () throws -> R) throws -> R {
        let result = try $current.withValue(name, operation: body)
        if let reporter = device as? any DeferredErrorReporting, let error = reporter.takePendingError() {
            throw error
        }
        return result
    }
}

/// A device that detects problems inside operations, which do not throw, and hands them over at
/// the end of the enclosing `OperationScope` (or whenever a caller asks) to be thrown there.
public protocol DeferredErrorReporting: Sendable {
    /// The first problem noticed since the last call, clearing it; nil when there is none.
    func takePendingError() -> FoveaError?
}
