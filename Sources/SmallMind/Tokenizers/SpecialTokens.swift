// Special tokens in input text, as llama.cpp's `tokenizer_st_partition` finds them: before any
// other tokenization, each special token's text — longest first — is cut out of the remaining raw
// text, left to right, non-overlapping. User-defined tokens are always cut out; control and
// unknown tokens only when the caller parses special tokens (llama-tokenize and the server do by
// default; a plain `encode` does not).
//
// llama.cpp searches the whole text once per special token: Gemma 3 has 6 400 of them (most
// `<unusedN>`), so that costs thousands of passes over every prompt. Here a byte trie of the
// special texts finds, in one pass, every occurrence of every special text at every position; the
// occurrences are then accepted in llama.cpp's cutting order (longest text first, then left to
// right), each one only if none of its bytes is already taken — exactly the occurrences that lie
// wholly inside a fragment still raw when that token's turn comes. Cost: the text's length times
// the longest special text at worst (a run of spaces where Gemma has a token for every run
// length), whatever the number of special tokens.

/// A piece of input text after special tokens are cut out.
enum TextFragment: Equatable {
    /// Raw text to tokenize: a byte range of the input.
    case text(Range<Int>)
    case token(Int)
}

struct SpecialTokenSplitter: Sendable {
    /// A trie node: the first special (in cutting order) spelled by the path to it, and the first
    /// user-defined one (or -1: texts can repeat across kinds), its first child and next sibling.
    private struct Node: Sendable {
        var byte: UInt8
        var special: Int32 = -1
        var alwaysMatchedSpecial: Int32 = -1
        var firstChild: Int32 = -1
        var nextSibling: Int32 = -1
    }

    private struct Special: Sendable {
        let id: Int
        let length: Int
        let alwaysMatched: Bool
    }

    /// In cutting order: longest text first (ties by id; llama.cpp's sort leaves ties unordered).
    private let specials: [Special]
    /// Node 0 is the root (the empty text).
    private let nodes: [Node]

    init(texts: ByteStringTable, kinds: [TokenKind]) {
        var specials: [Special] = []
        for id in kinds.indices where kinds[id].isSpecial && texts.length(of: id) > 0 {
            specials.append(Special(id: id, length: texts.length(of: id), alwaysMatched: kinds[id] == .userDefined))
        }
        specials.sort { $0.length != $1.length ? $0.length > $1.length : $0.id < $1.id }

        var nodes = [Node(byte: 0)]
        for (rank, special) in specials.enumerated() {
            var node = 0
            for byte in texts[special.id] {
                var child = Int(nodes[node].firstChild)
                while child >= 0 && nodes[child].byte != byte { child = Int(nodes[child].nextSibling) }
                if child < 0 {
                    child = nodes.count
                    nodes.append(Node(byte: byte, nextSibling: nodes[node].firstChild))
                    nodes[node].firstChild = Int32(child)
                }
                node = child
            }
            // Equal texts: the first in cutting order (the lowest id) is the one that ever matches.
            if nodes[node].special < 0 { nodes[node].special = Int32(rank) }
            if special.alwaysMatched && nodes[node].alwaysMatchedSpecial < 0 { nodes[node].alwaysMatchedSpecial = Int32(rank) }
        }
        self.specials = specials
        self.nodes = nodes
    }

    /// `text` as raw-text ranges and special tokens, in order.
    func split(_ text: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [TextFragment] {
        guard !text.isEmpty else { return [] }
        guard nodes.count > 1 else { return [.text(0 ..< text.count)] }
        // Every (rank, start) where a special text that may be cut occurs.
        var occurrences: [(rank: Int32, start: Int)] = []
        nodes.withUnsafeBufferPointer { nodes in
            for start in text.indices {
                var node = 0, position = start
                while position < text.count {
                    let byte = text[position]
                    var child = Int(nodes[node].firstChild)
                    while child >= 0 && nodes[child].byte != byte { child = Int(nodes[child].nextSibling) }
                    guard child >= 0 else { break }
                    node = child
                    position += 1
                    let rank = parseSpecial ? nodes[node].special : nodes[node].alwaysMatchedSpecial
                    if rank >= 0 { occurrences.append((rank, start)) }
                }
            }
        }
        guard !occurrences.isEmpty else { return [.text(0 ..< text.count)] }
        occurrences.sort { $0.rank != $1.rank ? $0.rank < $1.rank : $0.start < $1.start }

        var taken = [Bool](repeating: false, count: text.count)
        var cuts: [(start: Int, end: Int, id: Int)] = []
        for occurrence in occurrences {
            let special = specials[Int(occurrence.rank)]
            let end = occurrence.start + special.length
            // Everything taken before is at least as long as this text, so anything overlapping it
            // covers its first or its last byte.
            guard !taken[occurrence.start] && !taken[end - 1] else { continue }
            for i in occurrence.start ..< end { taken[i] = true }
            cuts.append((occurrence.start, end, special.id))
        }
        cuts.sort { $0.start < $1.start }

        var fragments: [TextFragment] = []
        var start = 0
        for cut in cuts {
            if cut.start > start { fragments.append(.text(start ..< cut.start)) }
            fragments.append(.token(cut.id))
            start = cut.end
        }
        if start < text.count { fragments.append(.text(start ..< text.count)) }
        return fragments
    }
}
