#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A mutual-exclusion lock over `pthread_mutex_t`, guarding a value of type `State`.
///
/// Used instead of `Synchronization.Mutex` (tensor memory pool, packed-weight cache, check report): the
/// standard library's `Mutex` locks through futexes and atomics that ThreadSanitizer does not see
/// (it is not built with TSan), so it reported every guarded access as a race; `pthread_mutex` is
/// intercepted by TSan, so its reports stay meaningful.
public final class Lock<State>: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var state: State

    public init(_ state: State) {
        self.state = state
        pthread_mutex_init(&mutex, nil)
    }

    deinit { pthread_mutex_destroy(&mutex) }

    /// Runs `body` with exclusive access to the state.
    public func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body(&state)
    }
}
