// Special tokens in input text, as llama.cpp's `tokenizer_st_partition` finds them: before any
// other tokenization, each special token's text — longest first — is cut out of the remaining raw
// text, left to right, non-overlapping. User-defined tokens are always cut out; control and
// unknown tokens only when the caller parses special tokens (llama-tokenize and the server do by
// default; a plain `encode` does not).
//
// llama.cpp searches the whole text once per special token. Qwen 2 has 293 of them, so this finds
// every occurrence of every special text in one pass first (candidates bucketed by first byte) and
// then replays llama.cpp's longest-first cutting on those occurrences only.

/// A piece of input text after special tokens are cut out.
enum TextFragment: Equatable {
    /// Raw text to tokenize: a byte range of the input.
    case text(Range<Int>)
    case token(Int)
}

struct SpecialTokenSplitter: Sendable {
    private struct Special: Sendable {
        let id: Int
        let text: [UInt8]
        let alwaysMatched: Bool
    }

    /// In cutting order: longest text first (ties by id; llama.cpp's sort leaves ties unordered).
    private let specials: [Special]
    /// For each first byte, the positions in `specials` of texts starting with it.
    private let byFirstByte: [[Int]]

    init(texts: ByteStringTable, kinds: [TokenKind]) {
        var specials: [Special] = []
        for id in kinds.indices where kinds[id].isSpecial && texts.length(of: id) > 0 {
            specials.append(Special(id: id, text: Array(texts[id]), alwaysMatched: kinds[id] == .userDefined))
        }
        specials.sort { $0.text.count != $1.text.count ? $0.text.count > $1.text.count : $0.id < $1.id }
        var byFirstByte = [[Int]](repeating: [], count: 256)
        for (i, special) in specials.enumerated() { byFirstByte[Int(special.text[0])].append(i) }
        self.specials = specials
        self.byFirstByte = byFirstByte
    }

    /// `text` as raw-text ranges and special tokens, in order.
    func split(_ text: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [TextFragment] {
        guard !text.isEmpty else { return [] }
        // Every start position of every special text (overlaps included), by special.
        var occurrences: [Int: [Int]] = [:]
        for position in text.indices {
            for i in byFirstByte[Int(text[position])] {
                let special = specials[i]
                guard parseSpecial || special.alwaysMatched,
                      special.text.count <= text.count - position,
                      special.text.indices.allSatisfy({ special.text[$0] == text[position + $0] }) else { continue }
                occurrences[i, default: []].append(position)
            }
        }
        var fragments: [TextFragment] = [.text(0 ..< text.count)]
        for i in occurrences.keys.sorted() {
            let positions = occurrences[i]!
            let length = specials[i].text.count
            var next = 0  // fragments are in text order, so one cursor serves them all
            var cut: [TextFragment] = []
            for fragment in fragments {
                guard case let .text(range) = fragment else {
                    cut.append(fragment)
                    continue
                }
                var start = range.lowerBound
                while true {
                    while next < positions.count && positions[next] < start { next += 1 }
                    guard next < positions.count, positions[next] + length <= range.upperBound else { break }
                    let match = positions[next]
                    if match > start { cut.append(.text(start ..< match)) }
                    cut.append(.token(specials[i].id))
                    start = match + length
                }
                if start < range.upperBound { cut.append(.text(start ..< range.upperBound)) }
            }
            fragments = cut
        }
        return fragments
    }
}
