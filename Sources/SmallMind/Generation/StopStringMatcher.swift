/// Releases generated text while watching for stop strings: text that might be the beginning of a
/// stop string is held back until the next token decides it, so a streamed stop string never
/// leaks to the caller.
struct StopStringMatcher {
    private let stops: [[UInt8]]
    private var text: [UInt8] = []
    private var released = 0

    init(stops: [String]) { self.stops = stops.map { Array($0.utf8) } }

    /// Adds `piece`; returns the text now safe to release and whether a stop string was hit.
    mutating func append(_ piece: String) -> (release: String, stopped: Bool) {
        text += piece.utf8
        guard !stops.isEmpty else { return (releaseUpTo(text.count), false) }
        if let stopAt = firstMatch() {
            text.removeSubrange(stopAt...)
            return (releaseUpTo(stopAt), true)
        }
        return (releaseUpTo(text.count - heldBackLength()), false)
    }

    /// Everything not yet released (at the end of generation).
    mutating func finish() -> String { releaseUpTo(text.count) }

    /// All text kept (released or not), without any stop string.
    var fullText: String { String(decoding: text, as: UTF8.self) }

    private mutating func releaseUpTo(_ end: Int) -> String {
        guard end > released else { return "" }
        defer { released = end }
        return String(decoding: text[released..<end], as: UTF8.self)
    }

    private func firstMatch() -> Int? {
        let longest = stops.map(\.count).max() ?? 0
        let searchFrom = max(0, released - longest)
        var best: Int?
        for stop in stops where stop.count <= text.count {
            var i = searchFrom
            while i + stop.count <= text.count {
                if text[i] == stop[0] && text[i..<i + stop.count].elementsEqual(stop) {
                    if best.map({ i < $0 }) ?? true { best = i }
                    break
                }
                i += 1
            }
        }
        return best
    }

    /// Length of the longest suffix of the text that is a proper prefix of a stop string.
    private func heldBackLength() -> Int {
        var longest = 0
        for stop in stops {
            var length = min(stop.count - 1, text.count - released)
            while length > longest {
                if text[(text.count - length)...].elementsEqual(stop[..<length]) {
                    longest = length
                    break
                }
                length -= 1
            }
        }
        return longest
    }
}
