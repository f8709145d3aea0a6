// Attention over a paged KV cache: one query head of one token over a sequence whose keys and
// values lie in blocks named by a block table (vLLM's PagedAttention, on the CPU).
//
// The arithmetic is `Attention.head`'s, term for term: each score is `Matmul.dot`'s order, the
// softmax is sequential over the positions in order, and each output's weighted sum of values runs
// over the positions in ascending order in the same register chains. Only the address of a row
// changes: positions are walked block by block, and within a block row by row. So the result is
// bit-identical to the contiguous kernel over the same keys and values, whatever the block size
// and wherever the blocks lie (tests: PagedAttentionTests). The table is read once per block run,
// not once per position, and the rows of the blocks ahead are asked for before they are reached
// (`prefetchRow`).
import Foundation
import SmallMindPrefetch

/// Where one head's keys and values of one sequence lie in a paged cache.
public struct PagedRows<Element: CacheElement> {
    /// The head's rows in block 0 of the pool: block b's rows start `b · blockStride` further.
    public var keys: UnsafePointer<Element>
    public var values: UnsafePointer<Element>
    /// The sequence's block table: entry i holds positions i·blockSize ..< (i+1)·blockSize.
    public var blockTable: UnsafePointer<Int32>
    /// Elements between consecutive blocks.
    public var blockStride: Int
    /// Positions per block; rows within a block are `headSize` elements apart.
    public var blockSize: Int

    public init(keys: UnsafePointer<Element>, values: UnsafePointer<Element>, blockTable: UnsafePointer<Int32>,
                blockStride: Int, blockSize: Int) {
        self.keys = keys
        self.values = values
        self.blockTable = blockTable
        self.blockStride = blockStride
        self.blockSize = blockSize
    }

    /// Element offset of position t's row from the pool's head base.
    @inline(__always)
    func rowOffset(_ t: Int, headSize: Int) -> Int {
        let b = t / blockSize
        return Int(blockTable[b]) &* blockStride &+ (t &- b &* blockSize) &* headSize
    }
}

extension Attention {
    /// `head` over positions first...last of a paged float32 cache. `scores` must hold
    /// last − first + 1 floats.
    public static func pagedHead(
        query: UnsafePointer<Float>, rows: PagedRows<Float>, headSize: Int, firstPosition: Int, lastPosition: Int,
        scale: Float? = nil, softCap: Float? = nil, scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        pagedKernel(query: query, rows: rows, headSize: headSize, first: firstPosition, last: lastPosition,
                    scale: scale ?? 1 / Float(headSize).squareRoot(), softCap: softCap, scores: scores, out: out)
    }

    /// `pagedHead` over a paged f16 cache: the same arithmetic on the exactly widened elements.
    public static func pagedHead(
        query: UnsafePointer<Float>, rows: PagedRows<Float16>, headSize: Int, firstPosition: Int, lastPosition: Int,
        scale: Float? = nil, softCap: Float? = nil, scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        pagedKernel(query: query, rows: rows, headSize: headSize, first: firstPosition, last: lastPosition,
                    scale: scale ?? 1 / Float(headSize).squareRoot(), softCap: softCap, scores: scores, out: out)
    }

    /// Copies rows first...last of a paged cache into `into`, one after another (`headSize` apart):
    /// for kernels that read contiguous rows (llama.cpp's flash attention, a test instrument).
    public static func gather<Element: CacheElement>(
        _ rows: PagedRows<Element>, keys: Bool, headSize: Int, firstPosition: Int, lastPosition: Int,
        into: UnsafeMutablePointer<Element>
    ) {
        let base = keys ? rows.keys : rows.values
        for t in firstPosition...lastPosition {
            (into + (t - firstPosition) * headSize).update(from: base + rows.rowOffset(t, headSize: headSize), count: headSize)
        }
    }

    /// Asks for the cache lines of one row (`bytes` from `row`). The hardware prefetcher follows a
    /// run of rows but cannot guess where the table sends the next block, so the kernel asks
    /// itself, `BlockRuns.lookahead` blocks ahead: while it scores a row, for the key row at the
    /// same place in that block; in the value pass, for the value row there; and, for a head
    /// whose value pass reads each row in pieces, for the row's values while it scores it.
    /// Without the hints (and with a pool not page-aligned), decode attention over a shuffled
    /// pool read its keys and values at 0.58× the contiguous kernel's speed
    /// (`smallmind bench-attention`, 32 sequences × 12 heads of 64, 512 positions, f32). A hint
    /// changes no result.
    @inline(__always)
    static func prefetchRow<Element>(_ row: UnsafePointer<Element>, bytes: Int) {
        let raw = UnsafeRawPointer(row)
        var offset = 0
        while offset < bytes {
            smallmind_prefetch(raw + offset)
            offset &+= 64
        }
    }

    /// `dot(q, k + j·rowStride, count)` for j = 0..<4 at once, each bit for bit: the same chain of
    /// multiply-adds per row, the same lane tree (`Matmul.reduceLanes` of four), the same tail.
    @inline(__always)
    static func dot4<Element: CacheElement>(
        _ q: UnsafePointer<Float>, _ k: UnsafePointer<Element>, rowStride: Int, count: Int
    ) -> SIMD4<Float> {
        let kMain = count & ~7
        let rq = UnsafeRawPointer(q)
        let k1 = k + rowStride, k2 = k1 + rowStride, k3 = k2 + rowStride
        var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0
        var i = 0
        while i < kMain {
            let x = rq.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
            a0 = a0.addingProduct(x, Element.eight(k, i)); a1 = a1.addingProduct(x, Element.eight(k1, i))
            a2 = a2.addingProduct(x, Element.eight(k2, i)); a3 = a3.addingProduct(x, Element.eight(k3, i))
            i &+= 8
        }
        var tail = SIMD4<Float>()
        while i < count {
            tail[0] = tail[0].addingProduct(q[i], k[i].float); tail[1] = tail[1].addingProduct(q[i], k1[i].float)
            tail[2] = tail[2].addingProduct(q[i], k2[i].float); tail[3] = tail[3].addingProduct(q[i], k3[i].float)
            i &+= 1
        }
        return Matmul.reduceLanes(a0, a1, a2, a3) + tail
    }

    /// Calls `body` with each position's value row (from element `column`) and its softmax weight
    /// broadcast, positions first...last in order, walking the blocks and asking for the row
    /// `BlockRuns.lookahead` blocks ahead (`width` elements of it) as it goes: the one walk every
    /// width of the value pass shares.
    @inline(__always)
    static func forEachValueRow<Element: CacheElement>(
        _ rows: PagedRows<Element>, headSize: Int, first: Int, last: Int, column: Int, width: Int,
        scores: UnsafePointer<Float>, _ body: (UnsafePointer<Element>, SIMD8<Float>) -> Void
    ) {
        var runs = BlockRuns(rows, headSize: headSize, first: first, last: last)
        var s = 0
        while let run = runs.next() {
            var v = rows.values + run.offset + column
            var ahead = run.ahead.map { rows.values + $0 + column }
            for _ in 0..<run.count {
                if let a = ahead {
                    prefetchRow(a, bytes: width &* MemoryLayout<Element>.stride)
                    ahead = a + headSize
                }
                body(v, SIMD8(repeating: scores[s]))
                v += headSize
                s &+= 1
            }
        }
    }

    @inline(__always)
    static func pagedKernel<Element: CacheElement>(
        query: UnsafePointer<Float>, rows: PagedRows<Element>, headSize: Int, first: Int, last: Int,
        scale: Float, softCap: Float?, scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        let length = last - first + 1
        let rowBytes = headSize &* MemoryLayout<Element>.stride
        // The value pass below reads 64 outputs at a time from a float32 cache (eight chains and
        // the broadcast fit the sixteen vector registers; widening f16 needs a register per load,
        // so f16 goes 32 at a time). A head that takes several passes reads each value row in
        // pieces, a pattern the hardware follows poorly: its value rows are asked for whole while
        // the scores are computed, and are in cache when the passes come.
        let wideValues = Element.self == Float.self
        let valuesInPieces = headSize > (wideValues ? 64 : 32)
        // Scores, block run by block run: s counts positions from `first`.
        var runs = BlockRuns(rows, headSize: headSize, first: first, last: last)
        var s = 0
        while let run = runs.next() {
            var k = rows.keys + run.offset, v = rows.values + run.offset
            // The rows of the block `BlockRuns.lookahead` ahead, a row per row read (`prefetchRow`).
            var ahead = run.ahead.map { rows.keys + $0 }
            var r = 0
            // Four rows at a time: four independent chains instead of one waiting on its own
            // multiply-adds; each score is still `dot`'s sum, bit for bit (`dot4`).
            while r &+ 4 <= run.count {
                if let a = ahead {
                    prefetchRow(a, bytes: 4 &* rowBytes)
                    ahead = a + 4 &* headSize
                }
                if valuesInPieces { prefetchRow(v, bytes: 4 &* rowBytes) }
                let four = dot4(query, k, rowStride: headSize, count: headSize) * scale
                scores[s] = four[0]; scores[s &+ 1] = four[1]; scores[s &+ 2] = four[2]; scores[s &+ 3] = four[3]
                k += 4 &* headSize
                v += 4 &* headSize
                s &+= 4
                r &+= 4
            }
            while r < run.count {
                if let a = ahead {
                    prefetchRow(a, bytes: rowBytes)
                    ahead = a + headSize
                }
                if valuesInPieces { prefetchRow(v, bytes: rowBytes) }
                scores[s] = dot(query, k, count: headSize) * scale
                k += headSize
                v += headSize
                s &+= 1
                r &+= 1
            }
        }
        if let softCap {
            let inverse = 1 / softCap
            for t in 0..<length { scores[t] = tanhf(scores[t] * inverse) * softCap }
        }
        Activation.softmax(scores, count: length)
        // out[i] = Σₜ scores[t] · v[t, i], t ascending, in `Attention.kernel`'s chains: the same
        // terms in the same order, the rows found block by block.
        let raw = UnsafeMutableRawPointer(out)
        @inline(__always) func store(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>, _ d: SIMD8<Float>, at i: Int) {
            raw.storeBytes(of: a, toByteOffset: i &* 4, as: SIMD8<Float>.self)
            raw.storeBytes(of: b, toByteOffset: (i &+ 8) &* 4, as: SIMD8<Float>.self)
            raw.storeBytes(of: c, toByteOffset: (i &+ 16) &* 4, as: SIMD8<Float>.self)
            raw.storeBytes(of: d, toByteOffset: (i &+ 24) &* 4, as: SIMD8<Float>.self)
        }
        var i = 0
        // Sixty-four outputs at a time (eight chains) from a float32 cache: a 64-wide head's value
        // rows are read whole, in one pass over the positions. Each output's sum is the same
        // whatever the width (one chain per output, positions in order).
        while wideValues && i + 64 <= headSize {
            var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0
            forEachValueRow(rows, headSize: headSize, first: first, last: last, column: i, width: 64, scores: scores) { v, p in
                a0 = a0.addingProduct(p, Element.eight(v, 0)); a1 = a1.addingProduct(p, Element.eight(v, 8))
                a2 = a2.addingProduct(p, Element.eight(v, 16)); a3 = a3.addingProduct(p, Element.eight(v, 24))
                a4 = a4.addingProduct(p, Element.eight(v, 32)); a5 = a5.addingProduct(p, Element.eight(v, 40))
                a6 = a6.addingProduct(p, Element.eight(v, 48)); a7 = a7.addingProduct(p, Element.eight(v, 56))
            }
            store(a0, a1, a2, a3, at: i)
            store(a4, a5, a6, a7, at: i &+ 32)
            i &+= 64
        }
        while i + 32 <= headSize {
            var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0
            forEachValueRow(rows, headSize: headSize, first: first, last: last, column: i, width: 32, scores: scores) { v, p in
                a0 = a0.addingProduct(p, Element.eight(v, 0)); a1 = a1.addingProduct(p, Element.eight(v, 8))
                a2 = a2.addingProduct(p, Element.eight(v, 16)); a3 = a3.addingProduct(p, Element.eight(v, 24))
            }
            store(a0, a1, a2, a3, at: i)
            i &+= 32
        }
        while i + 8 <= headSize {
            var acc = SIMD8<Float>()
            forEachValueRow(rows, headSize: headSize, first: first, last: last, column: i, width: 8, scores: scores) { v, p in
                acc = acc.addingProduct(p, Element.eight(v, 0))
            }
            raw.storeBytes(of: acc, toByteOffset: i &* 4, as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < headSize {
            var acc: Float = 0
            var runs = BlockRuns(rows, headSize: headSize, first: first, last: last)
            var s = 0
            while let run = runs.next() {
                for r in 0..<run.count {
                    acc = acc.addingProduct(scores[s], rows.values[run.offset &+ r &* headSize &+ i].float)
                    s &+= 1
                }
            }
            out[i] = acc
            i &+= 1
        }
    }
}

/// The runs of consecutive rows that positions first...last of a paged sequence fall into, in
/// order: one division when it starts, none per row or per block (a division per block cost the
/// kernel a fifth of its time on short rows in cache).
struct BlockRuns<Element: CacheElement> {
    private let rows: PagedRows<Element>
    private let headSize: Int
    private let last: Int
    private var position: Int
    private var block: Int
    private var within: Int

    @inline(__always)
    init(_ rows: PagedRows<Element>, headSize: Int, first: Int, last: Int) {
        self.rows = rows
        self.headSize = headSize
        self.last = last
        position = first
        block = first / rows.blockSize
        within = first &- block &* rows.blockSize
    }

    /// Blocks ahead of the one being read whose rows the kernel asks for: two, so that a row is
    /// asked for a block and more before it is read (`bench-attention`, 4 sequences of 512
    /// positions from memory: 1.14–1.28× the contiguous kernel, against 1.06–1.17× one block ahead).
    static var lookahead: Int { 2 }

    /// The next run: the offset (elements from the head's base) of its first row, its rows, and
    /// the offset of the first row of the run `lookahead` blocks later (nil past the end).
    @inline(__always)
    mutating func next() -> (offset: Int, count: Int, ahead: Int?)? {
        guard position <= last else { return nil }
        let count = min(rows.blockSize &- within, last &+ 1 &- position)
        let offset = Int(rows.blockTable[block]) &* rows.blockStride &+ within &* headSize
        position &+= count
        block &+= 1
        within = 0
        let aheadPosition = position &+ (Self.lookahead &- 1) &* rows.blockSize
        let ahead = aheadPosition <= last ? Int(rows.blockTable[block &+ Self.lookahead &- 1]) &* rows.blockStride : nil
        return (offset, count, ahead)
    }
}
