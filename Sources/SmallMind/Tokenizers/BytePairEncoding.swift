// Rank-ordered BPE merges, as llama.cpp applies them to byte-level vocabularies
// (`llm_tokenizer_bpe_session`): a word starts as one symbol per byte; the adjacent pair with the
// lowest merge rank (leftmost on ties) is merged, repeatedly, until no adjacent pair has a rank.
//
// llama.cpp keys its ranks by the pair of texts. Here every text a merge mentions — its two halves
// and their concatenation — gets a number once, at load (`strings`: the tokens first, so a token's
// number is its id, then any merge text that is not a token). A symbol carries the number of its
// text, and a pair of numbers finds its rank and result in a flat hash table. The merge loop is
// `SymbolMerging`'s, shared with SentencePiece.

/// The merge table of a byte-level BPE vocabulary.
struct BytePairMerges: Sendable {
    /// Token texts (positions 0..<tokenCount, `find` giving the id llama.cpp's lookup gives), then
    /// merge texts that are no token.
    let strings: ByteStringTable
    let tokenCount: Int
    private let pairs: PairTable

    /// Why a merge entry could not be read: its index and the reason.
    struct Malformed: Error {
        let index: Int
        let reason: String
    }

    /// Reads merges spelled "left right" (split at the first space after the first byte, as llama.cpp
    /// does). The first rank of a repeated pair wins.
    init(tokens: ByteStringTable, merges: [String]) throws(Malformed) {
        var strings = tokens
        let pairs = PairTable(capacity: merges.count)
        for rank in merges.indices {
            var merge = merges[rank]
            let problem: String? = merge.withUTF8 { text in
                // The first space after the first byte (a text may start with a space).
                var space = 1
                while space < text.count && text[space] != 0x20 { space += 1 }
                guard space < text.count else { return "expected two texts separated by a space" }
                guard space + 1 < text.count else { return "the second text is empty" }
                let first = UnsafeBufferPointer(start: text.baseAddress!, count: space)
                let second = UnsafeBufferPointer(start: text.baseAddress! + space + 1, count: text.count - space - 1)
                let left = strings.intern(first), right = strings.intern(second)
                let joined = strings.intern(first, second)
                pairs.insertIfAbsent(left: Int32(left), right: Int32(right), rank: Int32(rank), result: Int32(joined))
                return nil
            }
            if let problem { throw Malformed(index: rank, reason: problem) }
        }
        self.strings = strings
        tokenCount = tokens.count
        self.pairs = pairs
    }

    /// Merges `symbols` (one word, a linked list in index order, each `token` the number of its
    /// text or -1) by rank and returns the survivors in order.
    func merge(_ symbols: inout [MergeSymbol]) -> [MergeSymbol] {
        SymbolMerging.merge(&symbols) { left, right, priority, result in
            var rank: Int32 = 0
            guard left.token >= 0 && right.token >= 0,
                  pairs.find(left: left.token, right: right.token, rank: &rank, result: &result) else { return false }
            priority = UInt32(bitPattern: rank)
            return true
        }
    }
}

/// (left, right) text numbers → (rank, result): open addressing over 64-bit keys, in raw memory
/// (fast in debug builds too; see `ByteStringTable`). Built once, then only read.
private struct PairTable: Sendable {
    private final class Storage: @unchecked Sendable {
        // Written only while the table is built, before it is shared.
        /// Slot i: key at 2i, rank << 32 | result at 2i + 1 (one cache line per probe).
        let entries: UnsafeMutablePointer<UInt64>
        let size: Int
        init(size: Int) {
            self.size = size
            entries = .allocate(capacity: 2 * size)
            entries.initialize(repeating: PairTable.empty, count: 2 * size)
        }
        deinit { entries.deallocate() }
    }

    private let storage: Storage
    fileprivate static let empty = UInt64.max

    /// Room for `capacity` pairs at most half full; inserting more is a programming error.
    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        storage = Storage(size: size)
    }

    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// The entry index of `key`'s slot, or of the empty slot where it would go.
    private func slot(of key: UInt64) -> Int {
        let entries = storage.entries, mask = storage.size - 1
        // Fibonacci hashing spreads the small, dense text numbers over the table.
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
        while entries[2 * slot] != Self.empty && entries[2 * slot] != key { slot = (slot + 1) & mask }
        return 2 * slot
    }

    func insertIfAbsent(left: Int32, right: Int32, rank: Int32, result: Int32) {
        let key = Self.key(left, right)
        let at = slot(of: key)
        guard storage.entries[at] == Self.empty else { return }
        storage.entries[at] = key
        storage.entries[at + 1] = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: result))
    }

    /// The rank and result of merging `left` and `right`; false when they do not merge.
    func find(left: Int32, right: Int32, rank: inout Int32, result: inout Int32) -> Bool {
        let at = slot(of: Self.key(left, right))
        guard storage.entries[at] != Self.empty else { return false }
        let value = storage.entries[at + 1]
        rank = Int32(truncatingIfNeeded: value >> 32)
        result = Int32(truncatingIfNeeded: value)
        return true
    }
}
