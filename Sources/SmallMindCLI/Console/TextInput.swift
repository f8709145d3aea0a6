// Text the tools read: a prompt file, a batch input, a text to tokenize. Wherever a text file is
// read, "-" means standard input, as in most Unix tools.
import Foundation

/// Reading UTF-8 text from a file or standard input.
public enum TextInput {
    /// The path that means standard input.
    public static let standardInputPath = "-"

    /// How messages name `path`.
    public static func name(_ path: String) -> String { path == standardInputPath ? "standard input" : path }

    /// The whole text at `path` ("-": standard input, read to its end). Errors name the path and
    /// say what `what` is ("the input", "the prompt file").
    public static func read(_ path: String, what: String, standardInput: () -> Data = { FileHandle.standardInput.readDataToEndOfFile() }) throws -> String {
        let data: Data
        if path == standardInputPath {
            data = standardInput()
        } else {
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw CommandFailure(message: "\(path): cannot read \(what): \((error as NSError).localizedDescription)")
            }
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CommandFailure(message: "\(name(path)): \(what) is not UTF-8 text")
        }
        return text
    }

    /// `text` without one final line ending ("\n" or "\r\n"): what `echo` and editors add after a
    /// prompt is not part of it (llama.cpp's `--file` drops it too). Only one, so a prompt that
    /// should end in a newline can say so with two.
    public static func droppingFinalNewline(_ text: String) -> String {
        // By scalars: "\r\n" is a single Character in Swift.
        var scalars = Substring(text).unicodeScalars
        guard scalars.last == "\n" else { return text }
        scalars.removeLast()
        if scalars.last == "\r" { scalars.removeLast() }
        return String(scalars)
    }
}
