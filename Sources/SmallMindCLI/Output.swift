import Foundation

/// Unbuffered writes to stdout and stderr (results on stdout, progress and statistics on stderr).
public enum StandardStreams {
    public static func out(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    public static func error(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// Number formatting shared by the tools.
public enum Format {
    public static func seconds(_ s: Double) -> String {
        s < 1 ? String(format: "%.0f ms", s * 1000) : String(format: "%.2f s", s)
    }

    public static func rate(_ r: Double) -> String { String(format: r < 10 ? "%.2f" : "%.1f", r) }
}

/// An error for the command line: printed as one line ("error: …") with a non-zero exit, never a
/// stack trace. Wraps the library's descriptive errors.
public struct CommandFailure: Error, CustomStringConvertible {
    public let description: String
    /// The process's exit status (1 unless said otherwise; 130 after Ctrl-C, as shells do).
    public var status: Int32 = 1
    public init(_ error: any Error) { description = String(describing: error) }
    public init(message: String) { description = message }

    /// The same failure with exit status `status`.
    public func withStatus(_ status: Int32) -> CommandFailure {
        var copy = self
        copy.status = status
        return copy
    }
}
