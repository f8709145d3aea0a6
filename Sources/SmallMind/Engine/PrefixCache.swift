// The free KV slots, each remembering the tokens whose keys and values it still holds. A finished
// sequence leaves its slot's cache in place; a later request whose prompt starts with the same
// tokens — the next turn of a conversation, another request with the same system prompt — takes
// that slot and skips computing them. This is llama.cpp's server slot reuse (`cache_prompt`), and
// the shape a cache of prefixes keyed by their tokens takes when each prefix lives in one slot.
//
// Reuse cannot change a result: every kernel reduces in a fixed order, so the keys and values a
// position gets are the same bits whether it was computed in this request's prefill, in an earlier
// request's prefill, or while that request decoded.

/// Free KV slots and the token prefixes they hold. Owned by the scheduler thread.
struct PrefixCache {
    private struct Entry {
        let slot: Int
        /// Tokens at positions 0..<tokens.count of the slot's cache.
        var tokens: [Int]
        /// When the slot was released: the least recently used is given away first.
        var released: Int
    }

    private var free: [Entry]
    private var clock = 0
    /// Whether prefixes are reused at all (off: every request computes its whole prompt).
    let enabled: Bool

    init(slots: Int, enabled: Bool) {
        free = (0..<slots).map { Entry(slot: $0, tokens: [], released: 0) }
        self.enabled = enabled
    }

    var isEmpty: Bool { free.isEmpty }

    /// A shorter shared prefix than this (a BOS token, a few words) is not worth spending another
    /// slot's cache on, unless it is all that slot holds (a conversation's next turn extends it) or
    /// the whole prompt (the same short request again).
    static let minimumReuse = 16

    /// Takes a free slot for `prompt`: the one holding the longest prefix of it when that prefix is
    /// worth it, otherwise the least recently released (slots never used first, then the stalest
    /// prefixes, keeping fresher ones for later requests). Returns the slot and how many leading
    /// prompt tokens it already holds — never the whole prompt, since the last prompt token must be
    /// fed to get the logits of the first generated token.
    mutating func take(for prompt: [Int]) -> (slot: Int, reused: Int)? {
        guard !free.isEmpty else { return nil }
        let lengths = free.map { enabled ? Self.commonPrefixLength($0.tokens, prompt) : 0 }
        var choice = free.indices.min { free[$0].released < free[$1].released }!
        if let longest = free.indices.max(by: { (lengths[$0], free[$1].released) < (lengths[$1], free[$0].released) }),
            lengths[longest] > 0,
            lengths[longest] >= Self.minimumReuse || lengths[longest] == free[longest].tokens.count || lengths[longest] == prompt.count {
            choice = longest
        }
        let entry = free.remove(at: choice)
        return (entry.slot, min(lengths[choice], max(prompt.count - 1, 0)))
    }

    /// Returns `slot` to the free set, holding `tokens` (positions 0..<tokens.count).
    mutating func release(slot: Int, holding tokens: [Int]) {
        clock += 1
        free.append(Entry(slot: slot, tokens: enabled ? tokens : [], released: clock))
    }

    static func commonPrefixLength(_ a: [Int], _ b: [Int]) -> Int {
        var length = 0
        let limit = min(a.count, b.count)
        while length < limit && a[length] == b[length] { length += 1 }
        return length
    }
}
