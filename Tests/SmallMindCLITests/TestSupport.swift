import Foundation
import SmallMind
@testable import SmallMindCLI

/// A console fed from a script of input lines that records what was written.
final class ScriptedConsole: Console {
    private let state: Locked<(input: [String?], out: String, err: String)>
    let isInputTerminal = false
    let isErrorTerminal: Bool

    /// A nil line is a Ctrl-D at a terminal: one read sees end of input, later reads go on.
    init(_ lines: [String?], errorIsTerminal: Bool = false) {
        state = Locked((lines, "", ""))
        isErrorTerminal = errorIsTerminal
    }

    func readLine() -> String? {
        state.withLock { s in s.input.isEmpty ? nil : s.input.removeFirst() }
    }
    func write(_ text: String) { state.withLock { $0.out += text } }
    func writeError(_ text: String) { state.withLock { $0.err += text } }

    var output: String { state.current.out }
    var errors: String { state.current.err }
}

/// A clock tests move by hand.
final class ManualClock: Sendable {
    private let now = Locked(0.0)
    func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
    var read: @Sendable () -> Double { { [now] in now.current } }
}

extension String {
    /// How many times `needle` occurs.
    func occurrences(of needle: String) -> Int { components(separatedBy: needle).count - 1 }
}
