/// Stops the program with `message` unless `condition` holds: for misuse that is a bug in the
/// calling code (an index out of bounds, tensors of different shapes added, a shape with a negative
/// dimension), like `precondition` — but the message is kept in release builds, where
/// `precondition` prints none. Input from flags, files or layer arguments throws instead
/// (`ArgumentCheck`, `FoveaError`).
@inlinable @inline(__always)
public func fatalUnless(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                        file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError(message(), file: file, line: line) }
}
