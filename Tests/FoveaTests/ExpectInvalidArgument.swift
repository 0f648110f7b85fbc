import Fovea
import Testing

/// Expects `body` to throw `FoveaError` of kind `.invalidArgument` whose message contains every
/// fragment; records an issue at the caller's line when it throws nothing, another kind or type,
/// or a message lacking a fragment. Returns the error for further checks.
@discardableResult
func expectInvalidArgument(_ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation,
                           _ body: () throws -> Void) -> FoveaError? {
    do {
        try body()
        Issue.record("no error thrown", sourceLocation: sourceLocation)
    } catch let error as FoveaError {
        #expect(error.kind == .invalidArgument, "\(error)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(error.message.contains(fragment), "\(error.message) lacks \(fragment)", sourceLocation: sourceLocation)
        }
        return error
    } catch {
        Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
