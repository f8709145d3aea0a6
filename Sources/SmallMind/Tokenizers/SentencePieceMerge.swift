// The merge loop both SentencePiece tokenizers share (llama2.c's run.c and llama.cpp's SPM):
// start from small symbols, then repeatedly merge the adjacent pair whose concatenation is the
// vocabulary piece with the highest score, leftmost first on ties, until no pair is a piece.
//
// run.c rescans every pair after every merge (quadratic); llama.cpp keeps the candidate pairs in a
// priority queue and the symbols in a linked list, dropping stale queue entries when they surface.
// Both pick the same pair at every step — the best-scoring one, and among equals the one whose
// left symbol comes first — so this one implementation (the queue) serves both.

/// A run of bytes of the text being tokenized, linked to its neighbours.
struct MergeSymbol {
    /// Byte range in the text.
    var start: Int32
    var length: Int32
    /// Neighbours in the linked list; -1 at either end.
    var previous: Int32
    var next: Int32
    /// The vocabulary position spelling exactly these bytes, or -1.
    var token: Int32
}

enum SentencePieceMerge {
    /// One symbol per range in `ranges` (byte ranges of `text`, in order, covering it), with the
    /// token each spells looked up in `pieces`.
    static func symbols(_ ranges: [Range<Int>], in text: UnsafeBufferPointer<UInt8>, pieces: ByteStringTable) -> [MergeSymbol] {
        var symbols: [MergeSymbol] = []
        symbols.reserveCapacity(ranges.count)
        for (i, range) in ranges.enumerated() {
            let token = pieces.find(UnsafeBufferPointer(rebasing: text[range])) ?? -1
            symbols.append(MergeSymbol(
                start: Int32(range.lowerBound), length: Int32(range.count),
                previous: Int32(i - 1), next: i + 1 < ranges.count ? Int32(i + 1) : -1, token: Int32(token)))
        }
        return symbols
    }

    /// Merges adjacent `symbols` (a linked list in index order over `text`) by piece score and
    /// returns the survivors in order. `scoreFloor`: pairs scoring at or below it never merge
    /// (run.c starts its search from a floor; llama.cpp has none).
    static func merge(
        _ symbols: inout [MergeSymbol], in text: UnsafeBufferPointer<UInt8>,
        pieces: ByteStringTable, scores: [Float], scoreFloor: Float? = nil
    ) -> [MergeSymbol] {
        var queue = BinaryHeap<Candidate>()

        // Queues the pair (left, right) when their bytes together spell a piece.
        func consider(_ left: Int32, _ right: Int32) {
            guard left >= 0 && right >= 0 else { return }
            let start = Int(symbols[Int(left)].start)
            let length = Int(symbols[Int(left)].length + symbols[Int(right)].length)
            guard let token = pieces.find(UnsafeBufferPointer(rebasing: text[start ..< start + length])),
                  token < scores.count else { return }
            let score = scores[token]
            if let scoreFloor, !(score > scoreFloor) { return }
            queue.push(Candidate(score: score, left: left, right: right, length: Int32(length), token: Int32(token)))
        }

        for i in symbols.indices.dropFirst() { consider(Int32(i - 1), Int32(i)) }

        while let best = queue.pop() {
            let left = Int(best.left), right = Int(best.right)
            // Stale: one side was merged away, or grew, since the pair was queued.
            guard symbols[left].length > 0, symbols[right].length > 0,
                  symbols[left].length + symbols[right].length == best.length else { continue }
            symbols[left].length = best.length
            symbols[left].token = best.token
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

    /// A queued pair: the best score comes out first, then the leftmost.
    struct Candidate: HeapOrdered {
        var score: Float
        var left: Int32
        var right: Int32
        var length: Int32
        var token: Int32

        static func comesBefore(_ a: Candidate, _ b: Candidate) -> Bool {
            a.score > b.score || (a.score == b.score && a.left < b.left)
        }
    }
}

/// Ordering for `BinaryHeap`: `comesBefore(a, b)` when `a` should be popped before `b`.
protocol HeapOrdered {
    static func comesBefore(_ a: Self, _ b: Self) -> Bool
}

/// A binary heap popping the element that comes first.
struct BinaryHeap<Element: HeapOrdered> {
    private var elements: [Element] = []

    var isEmpty: Bool { elements.isEmpty }

    mutating func removeAll() { elements.removeAll(keepingCapacity: true) }

    mutating func push(_ element: Element) {
        elements.append(element)
        var child = elements.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Element.comesBefore(elements[child], elements[parent]) else { break }
            elements.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Element? {
        guard !elements.isEmpty else { return nil }
        let top = elements[0]
        let last = elements.removeLast()
        guard !elements.isEmpty else { return top }
        elements[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var first = parent
            if left < elements.count && Element.comesBefore(elements[left], elements[first]) { first = left }
            if right < elements.count && Element.comesBefore(elements[right], elements[first]) { first = right }
            guard first != parent else { return top }
            elements.swapAt(parent, first)
            parent = first
        }
    }
}
