import Foundation
import Testing
@testable import SmallMind

/// The one-pass special-token splitter against its naive twin: llama.cpp's
/// `tokenizer_st_partition` as written — every special text in turn, longest first, searched
/// left to right in every fragment still raw — on random texts over a tiny alphabet, where special
/// texts overlap, nest and repeat all the time.
struct SpecialTokenSplitterTests {
    /// llama.cpp's algorithm, literally (ties in length broken by id, as the splitter does).
    static func naiveSplit(_ text: [UInt8], specials: [(id: Int, text: [UInt8], alwaysMatched: Bool)], parseSpecial: Bool) -> [TextFragment] {
        var fragments: [TextFragment] = text.isEmpty ? [] : [.text(0 ..< text.count)]
        let ordered = specials.sorted { $0.text.count != $1.text.count ? $0.text.count > $1.text.count : $0.id < $1.id }
        for special in ordered where parseSpecial || special.alwaysMatched {
            var cut: [TextFragment] = []
            for fragment in fragments {
                guard case var .text(range) = fragment else {
                    cut.append(fragment)
                    continue
                }
                while let match = Self.find(special.text, in: text, range) {
                    if match > range.lowerBound { cut.append(.text(range.lowerBound ..< match)) }
                    cut.append(.token(special.id))
                    range = match + special.text.count ..< range.upperBound
                }
                if !range.isEmpty { cut.append(.text(range)) }
            }
            fragments = cut
        }
        return fragments
    }

    static func find(_ needle: [UInt8], in text: [UInt8], _ range: Range<Int>) -> Int? {
        guard needle.count <= range.count else { return nil }
        return (range.lowerBound ... range.upperBound - needle.count).first { Array(text[$0 ..< $0 + needle.count]) == needle }
    }

    @Test func agreesWithLlamaCppsAlgorithmOnRandomTexts() {
        var seed: UInt64 = 0x5EED
        func next(_ bound: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(bound))
        }
        let alphabet: [UInt8] = Array("ab<>".utf8)
        for round in 0 ..< 300 {
            // Tokens: the four letters (normal), then 1-8 random special texts of length 1-4.
            var texts = ByteStringTable()
            var kinds: [TokenKind] = []
            for letter in alphabet {
                texts.append([letter], duplicates: .keepLast)
                kinds.append(.normal)
            }
            var specials: [(id: Int, text: [UInt8], alwaysMatched: Bool)] = []
            for _ in 0 ..< 1 + next(8) {
                let text = (0 ..< 1 + next(4)).map { _ in alphabet[next(alphabet.count)] }
                let kind: TokenKind = [.control, .userDefined, .unknown][next(3)]
                let id = kinds.count
                texts.append(text, duplicates: .keepLast)
                kinds.append(kind)
                specials.append((id, text, kind == .userDefined))
            }
            let splitter = SpecialTokenSplitter(texts: texts, kinds: kinds)
            let text = (0 ..< next(40)).map { _ in alphabet[next(alphabet.count)] }
            for parseSpecial in [false, true] {
                let fast = text.withUnsafeBufferPointer { splitter.split($0, parseSpecial: parseSpecial) }
                // Equal special texts: llama.cpp's order between them is unspecified; the splitter
                // lets the lowest id match, and so does the naive twin (ties by id).
                let naive = Self.naiveSplit(text, specials: specials, parseSpecial: parseSpecial)
                #expect(fast == naive, "round \(round): \(String(decoding: text, as: UTF8.self)) specials \(specials.map { ($0.id, String(decoding: $0.text, as: UTF8.self), $0.alwaysMatched) })")
            }
        }
    }

    /// Gemma 3 has a user-defined token for every run of 2 to 31 spaces: the longest fits first.
    @Test func longestRunsFirst() {
        var texts = ByteStringTable()
        var kinds: [TokenKind] = []
        for length in 2 ... 4 {
            texts.append([UInt8](repeating: 0x20, count: length), duplicates: .keepLast)
            kinds.append(.userDefined)
        }
        let splitter = SpecialTokenSplitter(texts: texts, kinds: kinds)
        let text = Array("a         b".utf8)  // nine spaces: 4 + 4, then one left as text
        let fragments = text.withUnsafeBufferPointer { splitter.split($0, parseSpecial: false) }
        #expect(fragments == [.text(0 ..< 1), .token(2), .token(2), .text(9 ..< 11)])
    }
}
