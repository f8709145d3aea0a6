// Hand-written JSON for the tools' machine-readable output: the keys come out in the order a
// person reading the line expects (index first), which Foundation's encoders do not promise.
import Foundation

/// Building blocks for one-line JSON objects with ordered keys.
public enum JSONText {
    /// A JSON string literal.
    public static func string(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A JSON number rounded to `digits` decimals (non-finite values become null).
    public static func number(_ value: Double, digits: Int = 6) -> String {
        guard value.isFinite else { return "null" }
        let scale = pow(10, Double(digits))
        let rounded = (value * scale).rounded() / scale
        return rounded == rounded.rounded() && abs(rounded) < 1e15 ? String(Int(rounded)) : String(rounded)
    }

    /// A JSON number to `digits` significant digits (`%g`: -0.031703, -1e-07, -16.25), for values
    /// whose small magnitudes matter, like log-probabilities near 0; non-finite values become null.
    public static func number(_ value: Double, significantDigits digits: Int) -> String {
        guard value.isFinite else { return "null" }
        return String(format: "%.\(digits)g", value)
    }

    /// An object from already-encoded values, in the given order; nil values are left out.
    public static func object(_ members: [(key: String, value: String?)]) -> String {
        "{" + members.compactMap { m in m.value.map { string(m.key) + ":" + $0 } }.joined(separator: ",") + "}"
    }
}
