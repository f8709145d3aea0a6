import Foundation
import SmallMind

/// Parsing of the list-valued flags the tools share.
public enum CommandLineValues {
    /// "1,2,4,8" → [1, 2, 4, 8], sorted, without repeats; each in `range`.
    public static func levels(_ text: String, range: ClosedRange<Int> = 1...1024) throws -> [Int] {
        var levels: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            guard let level = Int(trimmed), range.contains(level) else {
                throw CommandFailure(message: "invalid --levels '\(text)': '\(trimmed)' is not a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            levels.append(level)
        }
        return Array(Set(levels)).sorted()
    }

    /// "all", one strategy, or a comma-separated list of them (the order is kept).
    public static func strategies(_ text: String) throws -> [GenerationStrategy] {
        let known = GenerationStrategy.allCases.map(\.rawValue).joined(separator: ", ")
        if text == "all" { return GenerationStrategy.allCases }
        var strategies: [GenerationStrategy] = []
        for part in text.split(separator: ",") {
            let name = part.trimmingCharacters(in: .whitespaces)
            guard let strategy = GenerationStrategy(rawValue: name) else {
                throw CommandFailure(message: "unknown strategy '\(name)': use \(known) or all")
            }
            if !strategies.contains(strategy) { strategies.append(strategy) }
        }
        guard !strategies.isEmpty else { throw CommandFailure(message: "--strategy needs a value: \(known) or all") }
        return strategies
    }
}
