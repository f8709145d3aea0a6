// Where the interactive tools read answers and write text. The sample's menu and questions go
// through this protocol so that tests can drive them with scripted input and read what they
// printed, without a terminal.
import Foundation

/// Line input, standard output and standard error of an interactive program.
public protocol Console: Sendable {
    /// The next line of input without its newline; nil at end of input.
    func readLine() -> String?
    /// Writes to standard output (results).
    func write(_ text: String)
    /// Writes to standard error (progress, diagnostics).
    func writeError(_ text: String)
    /// Whether input comes from a person at a terminal (answers are echoed when it does not, so a
    /// transcript of piped input still reads well).
    var isInputTerminal: Bool { get }
    /// Whether standard error is a terminal (progress bars redraw in place only there).
    var isErrorTerminal: Bool { get }
}

/// The process's own standard input, output and error.
public struct StandardConsole: Console {
    public init() {}

    /// Reads the file descriptor itself, a byte at a time, rather than through C stdio: stdio's
    /// end-of-file mark is sticky, so after a Ctrl-D at a terminal (which ends one answer — the
    /// sample then returns to its menu) every later read would fail at once. Unbuffered, so no
    /// byte meant for a later reader is taken; a person's or a script's answers are short.
    public func readLine() -> String? {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count = read(STDIN_FILENO, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            guard count == 1 else { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
            if byte == UInt8(ascii: "\n") { break }
            bytes.append(byte)
        }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
    public func write(_ text: String) { StandardStreams.out(text) }
    public func writeError(_ text: String) { StandardStreams.error(text) }
    public var isInputTerminal: Bool { isatty(STDIN_FILENO) == 1 }
    public var isErrorTerminal: Bool { isatty(STDERR_FILENO) == 1 }
}

/// Questions on a console that re-ask until the answer is valid.
public enum Ask {
    /// Asks for a whole number in `range`, which the question states; an empty answer takes
    /// `defaultValue`. An invalid answer says why and asks again. Returns nil at end of input.
    public static func integer(
        _ question: String, default defaultValue: Int, range: ClosedRange<Int>, on console: any Console
    ) -> Int? {
        while true {
            guard let answer = line("\(question), \(range.lowerBound) to \(range.upperBound) (default \(defaultValue)): ", on: console) else { return nil }
            if answer.isEmpty { return defaultValue }
            guard let value = Int(answer) else {
                console.write("'\(answer)' is not a whole number; enter a number from \(range.lowerBound) to \(range.upperBound), or press Enter for \(defaultValue).\n")
                continue
            }
            guard range.contains(value) else {
                console.write("\(value) is out of range; enter a number from \(range.lowerBound) to \(range.upperBound), or press Enter for \(defaultValue).\n")
                continue
            }
            return value
        }
    }

    /// Asks for one of `choices` (matched after trimming spaces). Returns nil at end of input.
    public static func choice(_ prompt: String, from choices: [String], on console: any Console) -> String? {
        while true {
            guard let answer = line(prompt, on: console) else { return nil }
            if choices.contains(answer) { return answer }
            let listed = choices.count > 1 ? choices.dropLast().joined(separator: ", ") + " or " + choices.last! : choices.joined()
            console.write("Invalid choice '\(answer)': enter \(listed).\n")
        }
    }

    /// Shows `prompt`, reads one line and trims surrounding spaces; nil at end of input.
    public static func line(_ prompt: String, on console: any Console) -> String? {
        console.write(prompt)
        guard let raw = console.readLine() else {
            console.write("\n")
            return nil
        }
        if !console.isInputTerminal { console.write(raw + "\n") }
        return raw.trimmingCharacters(in: .whitespaces)
    }
}
