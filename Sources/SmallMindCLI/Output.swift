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

    /// The KV budget's utilisation (`EngineStatistics.kvUtilization`) as a percentage. Above 100 %
    /// only through prefix sharing — a shared block's positions count once per sequence holding
    /// it, its memory once — which the text then says.
    public static func utilisation(_ u: Double) -> String {
        "utilisation \(rate(100 * u)) %" + (u > 1 ? " (shared blocks counted once per sequence)" : "")
    }
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

extension Format {
    /// 1234567 → "1.23 M".
    public static func count(_ n: Int) -> String {
        switch n {
        case ..<10_000: return "\(n)"
        case ..<1_000_000: return String(format: "%.1f K", Double(n) / 1e3)
        case ..<1_000_000_000: return String(format: "%.2f M", Double(n) / 1e6)
        default: return String(format: "%.2f G", Double(n) / 1e9)
        }
    }

    /// Bytes in binary units: "117.2 MiB".
    public static func bytes(_ n: Int) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(n), unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(n) bytes" : String(format: "%.1f %@", value, units[unit])
    }

    /// A number without a trailing ".0" when it is whole.
    public static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
    }
}

extension Format {
    /// Text shown between single quotes with control characters escaped (`'<|im_end|>'`, `'\\n'`).
    public static func quoted(_ text: String) -> String {
        var out = "'"
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "'": out += "\\'"
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += String(format: "\\x%02X", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "'"
    }

    /// A token's bytes for display: quoted text when they are valid UTF-8, otherwise printable
    /// ASCII as is and every other byte as \xNN (a byte-fallback token, half of a character).
    public static func piece(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        if Array(text.utf8) == bytes { return quoted(text) }  // valid UTF-8: decoding replaced nothing
        return "'" + bytes.map { (0x20..<0x7F).contains($0) && $0 != 0x27 && $0 != 0x5C ? String(UnicodeScalar($0)) : String(format: "\\x%02X", $0) }.joined() + "'"
    }
}

/// Two-column "label: value" tables.
public enum Table {
    public static func render(_ rows: [(String, String)]) -> String {
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0 + ":" + String(repeating: " ", count: width - $0.0.count + 2) + $0.1 }.joined(separator: "\n") + "\n"
    }
}

extension StandardStreams {
    /// Writes `value` as JSON with sorted keys and a final newline, on one line or `pretty`
    /// (the benchmarks' `--json`).
    public static func json<T: Encodable>(_ value: T, pretty: Bool = false) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        out(String(decoding: try encoder.encode(value), as: UTF8.self) + "\n")
    }
}
