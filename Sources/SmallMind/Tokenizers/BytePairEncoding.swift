// Rank-ordered BPE merges, as llama.cpp applies them to byte-level vocabularies
// (`llm_tokenizer_bpe_session`): a word starts as one symbol per byte; the adjacent pair with the
// lowest merge rank (leftmost on ties) is merged, repeatedly, until no adjacent pair has a rank.
//
// llama.cpp keys its ranks by the pair of texts and compares texts to spot stale queue entries.
// Here every text a merge mentions — its two halves and their concatenation — gets a number once,
// at load (`strings`: the tokens first, so a token's number is its id, then any merge text that is
// not a token). A symbol carries the number of its text, a pair of numbers finds its rank and
// result in a flat hash table, and a queue entry is stale exactly when either side's number changed.

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
                let first = UnsafeBufferPointer(rebasing: text[..<space])
                let second = UnsafeBufferPointer(rebasing: text[(space + 1)...])
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
    /// text or -1) and returns the survivors in order.
    func merge(_ symbols: inout [MergeSymbol]) -> [MergeSymbol] {
        var queue = BinaryHeap<Candidate>()

        func consider(_ left: Int32, _ right: Int32) {
            guard left >= 0 && right >= 0 else { return }
            let leftText = symbols[Int(left)].token, rightText = symbols[Int(right)].token
            var rank: Int32 = 0, result: Int32 = 0
            guard leftText >= 0 && rightText >= 0, pairs.find(left: leftText, right: rightText, rank: &rank, result: &result) else { return }
            queue.push(Candidate(rank: rank, left: left, right: right, leftText: leftText, rightText: rightText, result: result))
        }

        for i in symbols.indices.dropFirst() { consider(Int32(i - 1), Int32(i)) }

        while let best = queue.pop() {
            let left = Int(best.left), right = Int(best.right)
            // Stale: a side was merged away or now spells something else.
            guard symbols[left].length > 0, symbols[right].length > 0,
                  symbols[left].token == best.leftText, symbols[right].token == best.rightText else { continue }
            symbols[left].length += symbols[right].length
            symbols[left].token = best.result
            symbols[right].length = 0
            symbols[left].next = symbols[right].next
            if symbols[right].next >= 0 { symbols[Int(symbols[right].next)].previous = best.left }
            consider(symbols[left].previous, best.left)
            consider(best.left, symbols[left].next)
        }

        var survivors: [MergeSymbol] = []
        var i = symbols.isEmpty ? -1 : 0
        while i >= 0 {
            survivors.append(symbols[i])
            i = Int(symbols[i].next)
        }
        return survivors
    }

    /// A queued pair: the lowest rank comes out first, then the leftmost.
    private struct Candidate: HeapOrdered {
        var rank: Int32
        var left: Int32
        var right: Int32
        var leftText: Int32
        var rightText: Int32
        var result: Int32

        static func comesBefore(_ a: Candidate, _ b: Candidate) -> Bool {
            a.rank < b.rank || (a.rank == b.rank && a.left < b.left)
        }
    }
}

/// (left, right) text numbers → (rank, result): open addressing over 64-bit keys, in raw memory
/// (fast in debug builds too; see `ByteStringTable`). Built once, then only read.
private struct PairTable: Sendable {
    private final class Storage: @unchecked Sendable {
        // Written only while the table is built, before it is shared.
        let keys: UnsafeMutablePointer<UInt64>
        let values: UnsafeMutablePointer<UInt64>  // rank << 32 | result
        let size: Int
        init(size: Int) {
            self.size = size
            keys = .allocate(capacity: size)
            keys.initialize(repeating: PairTable.empty, count: size)
            values = .allocate(capacity: size)
            values.initialize(repeating: 0, count: size)
        }
        deinit {
            keys.deallocate()
            values.deallocate()
        }
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

    private func slot(of key: UInt64) -> Int {
        let keys = storage.keys, mask = storage.size - 1
        // Fibonacci hashing spreads the small, dense text numbers over the table.
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
        while keys[slot] != Self.empty && keys[slot] != key { slot = (slot + 1) & mask }
        return slot
    }

    func insertIfAbsent(left: Int32, right: Int32, rank: Int32, result: Int32) {
        let key = Self.key(left, right)
        let slot = slot(of: key)
        guard storage.keys[slot] == Self.empty else { return }
        storage.keys[slot] = key
        storage.values[slot] = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: result))
    }

    /// The rank and result of merging `left` and `right`, or nil when they do not merge.
    func find(left: Int32, right: Int32, rank: inout Int32, result: inout Int32) -> Bool {
        let slot = slot(of: Self.key(left, right))
        guard storage.keys[slot] != Self.empty else { return false }
        let value = storage.values[slot]
        rank = Int32(truncatingIfNeeded: value >> 32)
        result = Int32(truncatingIfNeeded: value)
        return true
    }
}
