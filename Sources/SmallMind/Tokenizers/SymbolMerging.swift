// The merge loop of every BPE tokenizer here: symbols in a linked list, candidate pairs in a
// priority queue, the best candidate merged first (the leftmost among equals), stale candidates
// dropped when they surface. SentencePiece ranks a pair by its piece's score, byte-level BPE by
// its merge rank; the loop is the same (llama.cpp's `llm_tokenizer_spm_session` and
// `llm_tokenizer_bpe_session` differ only there), so it lives here once.
//
// Cost: O(n log n) for n symbols, where run.c rescans every pair after every merge (O(n²)).
// The queue and the symbol walk use raw pointers: in unoptimised (debug) builds generic heaps
// and array subscripts cost several times more, and prompts can be long.

/// A run of bytes of the text being tokenized, linked to its neighbours.
struct MergeSymbol {
    /// Byte range in the text; a symbol merged into its left neighbour has length 0.
    var start: Int32
    var length: Int32
    /// Neighbours in the linked list; -1 at either end.
    var previous: Int32
    var next: Int32
    /// What the symbol spells: a token id or text number, or -1 for nothing known.
    var token: Int32
}

enum SymbolMerging {
    /// One symbol per range (in order, adjacent), linked, spelling the corresponding token.
    static func symbols(_ ranges: [Range<Int>], tokens: [Int32]) -> [MergeSymbol] {
        var symbols: [MergeSymbol] = []
        symbols.reserveCapacity(ranges.count)
        for i in ranges.indices {
            symbols.append(MergeSymbol(
                start: Int32(ranges[i].lowerBound), length: Int32(ranges[i].count),
                previous: Int32(i - 1), next: i + 1 < ranges.count ? Int32(i + 1) : -1, token: tokens[i]))
        }
        return symbols
    }

    /// Merges adjacent `symbols` (linked in index order) and returns the survivors in order.
    ///
    /// `candidate(left, right, &priority, &token)` says whether two adjacent symbols merge: then
    /// it sets the pair's priority (lower merges first) and the merged symbol's token. A candidate
    /// is stale when either side has changed since it was queued; symbols only grow, so that is
    /// exactly when the two lengths no longer add up to the recorded one (llama.cpp's test).
    static func merge(
        _ symbols: inout [MergeSymbol],
        candidate: (MergeSymbol, MergeSymbol, inout UInt32, inout Int32) -> Bool
    ) -> [MergeSymbol] {
        guard symbols.count > 1 else { return symbols }
        var queue = MergeQueue(capacity: symbols.count)
        defer { queue.deallocate() }
        symbols.withUnsafeMutableBufferPointer { buffer in
            let symbols = buffer.baseAddress!

            func consider(_ left: Int32, _ right: Int32) {
                guard left >= 0 && right >= 0 else { return }
                var priority: UInt32 = 0, token: Int32 = 0
                guard candidate(symbols[Int(left)], symbols[Int(right)], &priority, &token) else { return }
                queue.push(priority: priority, left: left, length: symbols[Int(left)].length + symbols[Int(right)].length, token: token)
            }

            for i in 1 ..< buffer.count { consider(Int32(i - 1), Int32(i)) }

            var left: Int32 = 0, length: Int32 = 0, token: Int32 = 0
            while queue.pop(left: &left, length: &length, token: &token) {
                let l = Int(left)
                // While the left symbol is unchanged its right neighbour is the one queued with it;
                // had the left one grown, its length alone would already be the recorded sum.
                let right = symbols[l].next
                guard symbols[l].length > 0, right >= 0, symbols[l].length + symbols[Int(right)].length == length else { continue }
                let r = Int(right)
                symbols[l].length = length
                symbols[l].token = token
                symbols[r].length = 0
                symbols[l].next = symbols[r].next
                if symbols[r].next >= 0 { symbols[Int(symbols[r].next)].previous = left }
                consider(symbols[l].previous, left)
                consider(left, symbols[l].next)
            }
        }
        var survivors: [MergeSymbol] = []
        var i = 0
        while i >= 0 {
            survivors.append(symbols[i])
            i = Int(symbols[i].next)
        }
        return survivors
    }

    /// The key for a score where higher scores merge first: an unsigned priority, lower first.
    static func priority(descendingScore score: Float) -> UInt32 {
        let bits = (score == 0 ? 0 : score).bitPattern  // -0 and +0 tie, as Float comparison says
        let ascending = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
        return ~ascending
    }
}

/// A binary min-heap of candidate pairs keyed by (priority, left symbol): the lowest priority
/// first, then the leftmost. Raw memory; call `deallocate()` when done.
private struct MergeQueue {
    /// priority << 32 | left
    private var keys: UnsafeMutablePointer<UInt64>
    /// length << 32 | token
    private var values: UnsafeMutablePointer<UInt64>
    private var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        keys = .allocate(capacity: self.capacity)
        values = .allocate(capacity: self.capacity)
    }

    func deallocate() {
        keys.deallocate()
        values.deallocate()
    }

    mutating func push(priority: UInt32, left: Int32, length: Int32, token: Int32) {
        if count == capacity { grow() }
        let key = UInt64(priority) << 32 | UInt64(UInt32(bitPattern: left))
        let value = UInt64(UInt32(bitPattern: length)) << 32 | UInt64(UInt32(bitPattern: token))
        var child = count
        count += 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard key < keys[parent] else { break }
            keys[child] = keys[parent]
            values[child] = values[parent]
            child = parent
        }
        keys[child] = key
        values[child] = value
    }

    mutating func pop(left: inout Int32, length: inout Int32, token: inout Int32) -> Bool {
        guard count > 0 else { return false }
        left = Int32(truncatingIfNeeded: keys[0])
        length = Int32(truncatingIfNeeded: values[0] >> 32)
        token = Int32(truncatingIfNeeded: values[0])
        count -= 1
        guard count > 0 else { return true }
        let key = keys[count], value = values[count]
        var parent = 0
        while true {
            var child = 2 * parent + 1
            guard child < count else { break }
            if child + 1 < count && keys[child + 1] < keys[child] { child += 1 }
            guard keys[child] < key else { break }
            keys[parent] = keys[child]
            values[parent] = values[child]
            parent = child
        }
        keys[parent] = key
        values[parent] = value
        return true
    }

    private mutating func grow() {
        let newCapacity = capacity * 2
        let newKeys = UnsafeMutablePointer<UInt64>.allocate(capacity: newCapacity)
        let newValues = UnsafeMutablePointer<UInt64>.allocate(capacity: newCapacity)
        newKeys.update(from: keys, count: count)
        newValues.update(from: values, count: count)
        deallocate()
        keys = newKeys
        values = newValues
        capacity = newCapacity
    }
}

extension SymbolMerging {
    /// SentencePiece: one symbol per range of `text`, each spelling the piece of those bytes (or -1).
    static func symbols(_ ranges: [Range<Int>], in text: UnsafeBufferPointer<UInt8>, pieces: ByteStringTable) -> [MergeSymbol] {
        symbols(ranges, tokens: ranges.map { Int32(pieces.find(UnsafeBufferPointer(rebasing: text[$0])) ?? -1) })
    }

    /// SentencePiece: two symbols merge when their bytes together spell a piece, the highest
    /// score first. `scoreFloor`: pieces scoring at or below it never merge (run.c starts its
    /// search from a floor; llama.cpp has none).
    static func mergeByScore(
        _ symbols: inout [MergeSymbol], in text: UnsafeBufferPointer<UInt8>, pieces: ByteStringTable, scores: [Float],
        scoreFloor: Float? = nil
    ) -> [MergeSymbol] {
        merge(&symbols) { left, right, priority, token in
            let bytes = UnsafeBufferPointer(start: text.baseAddress! + Int(left.start), count: Int(left.length + right.length))
            guard let found = pieces.find(bytes), found < scores.count else { return false }
            let score = scores[found]
            if let scoreFloor, !(score > scoreFloor) { return false }
            priority = Self.priority(descendingScore: score)
            token = Int32(found)
            return true
        }
    }
}
