// Ctrl-C for the interactive tools: while an operation runs, Ctrl-C cancels it (a generation stops
// at its next token, a batch stops starting items) and the program reports what finished; with
// nothing running it does the idle action (the sample exits cleanly from its menu). A second
// Ctrl-C while a cancelled operation is still winding down exits at once.
import Dispatch
import Foundation
import SmallMind

/// Turns SIGINT into task cancellation.
public final class InterruptHandler: Sendable {
    private struct State {
        var current: (@Sendable () -> Void)?
        var cancelling = false
        var interrupted = false
    }

    private let state = Locked(State())
    private let idleAction: @Sendable () -> Void
    private let source: Locked<(any DispatchSourceSignal)?> = Locked(nil)

    /// - Parameter idleAction: what Ctrl-C does when no operation is running (for example, print
    ///   a newline and exit 0).
    public init(idleAction: @escaping @Sendable () -> Void) {
        self.idleAction = idleAction
    }

    /// Starts handling SIGINT (the default action, killing the process, is switched off).
    public func install() {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [self] in interrupt() }
        source.resume()
        self.source.withLock { $0 = source }
    }

    /// What a SIGINT does; public so that tests can simulate one.
    public func interrupt() {
        enum Action { case idle, cancel(@Sendable () -> Void), force }
        let action = state.withLock { s -> Action in
            guard let cancel = s.current else { return .idle }
            if s.cancelling { return .force }
            s.cancelling = true
            s.interrupted = true
            return .cancel(cancel)
        }
        switch action {
        case .idle: idleAction()
        case .cancel(let cancel): cancel()
        case .force:
            StandardStreams.error("\nInterrupted again: exiting now.\n")
            exit(130)
        }
    }

    /// Runs `operation` in a task that Ctrl-C cancels; returns its value and whether it was
    /// interrupted. Cancelling the calling task cancels the operation too.
    public func run<T: Sendable>(_ operation: @escaping @Sendable () async -> T) async -> (value: T, interrupted: Bool) {
        // Registered before the task exists: a Ctrl-C in the instant after the task starts (it may
        // already be printing) must cancel it, not take the idle action.
        let cancellation = PendingCancellation()
        state.withLock { $0 = State(current: { cancellation.cancel() }) }
        let task = Task { await operation() }
        cancellation.attach { task.cancel() }
        let value = await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
        let interrupted = state.withLock { s -> Bool in
            defer { s = State() }
            return s.interrupted
        }
        return (value, interrupted)
    }
}

/// A cancellation that may be requested before the thing to cancel exists.
private final class PendingCancellation: Sendable {
    private let state = Locked<(cancel: (@Sendable () -> Void)?, requested: Bool)>((nil, false))

    func cancel() {
        let cancel = state.withLock { s -> (@Sendable () -> Void)? in
            s.requested = true
            return s.cancel
        }
        cancel?()
    }

    func attach(_ cancel: @escaping @Sendable () -> Void) {
        let requested = state.withLock { s -> Bool in
            s.cancel = cancel
            return s.requested
        }
        if requested { cancel() }
    }
}
