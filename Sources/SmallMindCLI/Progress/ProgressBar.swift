// The sample's progress bar, `[████░░░░] 8/12 (67%) | 2.4 items/s | ETA: 00:02`, safe to update
// from many tasks at once. On a terminal it redraws one line in place, at most ~10 times a second
// (redrawing on every item of a fast batch would spend more time in the terminal than in the
// model); piped into a file or CI log it prints a plain line every few seconds instead, so logs get
// progress without carriage returns and escape codes.
import Foundation
import SmallMind

/// A text progress bar for a known number of items.
public final class ProgressBar: Sendable {
    /// Cells in the bar.
    public let width: Int
    /// Items in all.
    public let total: Int

    private let isTerminal: Bool
    private let redrawInterval: Double
    private let plainLineInterval: Double
    private let clock: @Sendable () -> Double
    private let write: @Sendable (String) -> Void
    private let start: Double
    private let state = Locked(State())

    private struct State {
        var completed = 0
        var lastOutput: Double?
        var finished = false
    }

    /// - Parameters:
    ///   - isTerminal: redraw in place (a terminal) or print plain lines (a file or pipe).
    ///   - redrawInterval: least time between two redraws on a terminal, in seconds.
    ///   - plainLineInterval: least time between two plain lines when not a terminal, in seconds.
    ///   - clock: seconds on a monotonic clock (injected by tests).
    ///   - write: where the text goes (standard error in the tools).
    public init(
        total: Int, isTerminal: Bool, width: Int = 50, redrawInterval: Double = 0.1, plainLineInterval: Double = 5,
        clock: @escaping @Sendable () -> Double = ProgressBar.monotonicSeconds,
        write: @escaping @Sendable (String) -> Void
    ) {
        self.total = max(0, total)
        self.isTerminal = isTerminal
        self.width = max(1, width)
        self.redrawInterval = redrawInterval
        self.plainLineInterval = plainLineInterval
        self.clock = clock
        self.write = write
        start = clock()
    }

    /// Seconds since an arbitrary fixed point, from the monotonic clock.
    @Sendable public static func monotonicSeconds() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds) / 1e9
    }

    /// Counts `count` more items done and redraws if it is time to.
    public func advance(by count: Int = 1) {
        state.withLock { s in
            guard !s.finished else { return }
            s.completed = min(total, s.completed + count)
            drawIfDue(&s)
        }
    }

    /// Sets the number of items done and redraws if it is time to.
    public func update(completed: Int) {
        state.withLock { s in
            guard !s.finished else { return }
            s.completed = min(total, max(0, completed))
            drawIfDue(&s)
        }
    }

    /// Draws the final state and ends the line. Later updates are ignored.
    public func finish() {
        state.withLock { s in
            guard !s.finished else { return }
            s.finished = true
            let line = Self.render(completed: s.completed, total: total, elapsed: clock() - start, width: width)
            write(isTerminal ? "\r" + line + "\u{1B}[K\n" : line + "\n")
        }
    }

    /// The bar's text, for `completed` of `total` items after `elapsed` seconds.
    public static func render(completed: Int, total: Int, elapsed: Double, width: Int = 50) -> String {
        let fraction = total > 0 ? Double(completed) / Double(total) : 1
        let filled = min(width, Int((fraction * Double(width)).rounded(.down)))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let percent = Int((fraction * 100).rounded())
        let rate = elapsed > 0 ? Double(completed) / elapsed : 0
        let eta: String
        if completed >= total {
            eta = clockText(0)
        } else if rate > 0 {
            eta = clockText(Double(total - completed) / rate)
        } else {
            eta = "--:--"
        }
        return "[\(bar)] \(completed)/\(total) (\(percent)%) | \(String(format: "%.1f", rate)) items/s | ETA: \(eta)"
    }

    /// mm:ss, or h:mm:ss past an hour; seconds rounded up so that "00:00" means done.
    static func clockText(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        let (h, m, s) = (whole / 3600, whole / 60 % 60, whole % 60)
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%02d:%02d", m, s)
    }

    private func drawIfDue(_ s: inout State) {
        let now = clock()
        let interval = isTerminal ? redrawInterval : plainLineInterval
        // Plain lines count from the start, so a batch shorter than the interval prints only the
        // final line; a terminal shows the bar at once. Reaching the total always draws.
        let last = s.lastOutput ?? (isTerminal ? -Double.infinity : start)
        guard now - last >= interval || (isTerminal && s.completed == total) else { return }
        s.lastOutput = now
        let line = Self.render(completed: s.completed, total: total, elapsed: now - start, width: width)
        write(isTerminal ? "\r" + line + "\u{1B}[K" : line + "\n")
    }
}
