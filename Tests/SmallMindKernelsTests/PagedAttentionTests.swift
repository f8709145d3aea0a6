import Testing
@testable import SmallMindKernels

/// Attention over a paged cache is the contiguous kernel's arithmetic, bit for bit: the same keys
/// and values scattered over blocks in any order give the same output at any block size.
struct PagedAttentionTests {
    /// `length` rows of `headSize` (contiguous, the reference layout) and the same rows scattered
    /// over a pool of blocks of `blockSize` (block table in a scrambled order, other heads'
    /// rows between them: block stride 3 × blockSize × headSize).
    static func scatter<E>(_ rows: [E], headSize: Int, length: Int, blockSize: Int, filler: E) -> (pool: [E], table: [Int32], stride: Int) {
        let blocks = (length + blockSize - 1) / blockSize
        let stride = 3 * blockSize * headSize
        // Block i of the sequence lives in pool block poolBlocks − 1 − 2i: backwards, with gaps.
        let poolBlocks = blocks * 2 + 1
        let table = (0..<blocks).map { Int32(poolBlocks - 1 - 2 * $0) }
        #expect(Set(table).count == blocks)
        var pool = [E](repeating: filler, count: poolBlocks * stride)
        for t in 0..<length {
            let at = Int(table[t / blockSize]) * stride + headSize + (t % blockSize) * headSize  // one head in: head offset
            for i in 0..<headSize { pool[at + i] = rows[t * headSize + i] }
        }
        return (pool, table, stride)
    }

    @Test(arguments: [12, 16, 64, 72], [1, 3, 8, 16, 64])
    func pagedHeadEqualsContiguousHeadBitForBit(headSize: Int, blockSize: Int) {
        let length = 41
        let q = randomFloats(headSize, seed: 30)
        let k = randomFloats(length * headSize, seed: 31), v = randomFloats(length * headSize, seed: 32)
        let (keys, table, stride) = Self.scatter(k, headSize: headSize, length: length, blockSize: blockSize, filler: Float.nan)
        let (values, _, _) = Self.scatter(v, headSize: headSize, length: length, blockSize: blockSize, filler: Float.nan)
        // Every window: from 0 (causal) and from later starts (a sliding window), with a soft cap too.
        for (first, last, cap) in [(0, 40, nil), (0, 0, nil), (0, 17, Float(30)), (5, 40, nil), (16, 31, nil), (23, 24, Float(50))] as [(Int, Int, Float?)] {
            var scores = [Float](repeating: 0, count: length), contiguous = [Float](repeating: .nan, count: headSize), paged = contiguous
            k.withUnsafeBufferPointer { kp in
                v.withUnsafeBufferPointer { vp in
                    Attention.head(query: q, keys: kp.baseAddress! + first * headSize, values: vp.baseAddress! + first * headSize,
                                   rowStride: headSize, headSize: headSize, lastPosition: last - first, softCap: cap,
                                   scores: &scores, out: &contiguous)
                }
            }
            keys.withUnsafeBufferPointer { kp in
                values.withUnsafeBufferPointer { vp in
                    table.withUnsafeBufferPointer { tp in
                        let rows = PagedRows(keys: kp.baseAddress! + headSize, values: vp.baseAddress! + headSize,
                                             blockTable: tp.baseAddress!, blockStride: stride, blockSize: blockSize)
                        Attention.pagedHead(query: q, rows: rows, headSize: headSize, firstPosition: first, lastPosition: last,
                                            softCap: cap, scores: &scores, out: &paged)
                    }
                }
            }
            #expect(paged == contiguous, "positions \(first)...\(last), cap \(String(describing: cap))")
        }
    }

    @Test(arguments: [1, 5, 16])
    func pagedHalfHeadEqualsContiguousHalfHeadAndGatherRestoresRows(blockSize: Int) {
        let headSize = 24, length = 30
        let q = randomFloats(headSize, seed: 40)
        let k = randomFloats(length * headSize, seed: 41).map { Float16($0) }, v = randomFloats(length * headSize, seed: 42).map { Float16($0) }
        let (keys, table, stride) = Self.scatter(k, headSize: headSize, length: length, blockSize: blockSize, filler: Float16.nan)
        let (values, _, _) = Self.scatter(v, headSize: headSize, length: length, blockSize: blockSize, filler: Float16.nan)
        var scores = [Float](repeating: 0, count: length), contiguous = [Float](repeating: .nan, count: headSize), paged = contiguous
        Attention.head(query: q, keys: k, values: v, rowStride: headSize, headSize: headSize, lastPosition: length - 1,
                       scores: &scores, out: &contiguous)
        var gathered = [Float16](repeating: 0, count: (length - 3) * headSize)
        keys.withUnsafeBufferPointer { kp in
            values.withUnsafeBufferPointer { vp in
                table.withUnsafeBufferPointer { tp in
                    let rows = PagedRows(keys: kp.baseAddress! + headSize, values: vp.baseAddress! + headSize,
                                         blockTable: tp.baseAddress!, blockStride: stride, blockSize: blockSize)
                    Attention.pagedHead(query: q, rows: rows, headSize: headSize, firstPosition: 0, lastPosition: length - 1,
                                        scores: &scores, out: &paged)
                    Attention.gather(rows, keys: false, headSize: headSize, firstPosition: 3, lastPosition: length - 1, into: &gathered)
                }
            }
        }
        #expect(paged == contiguous)
        #expect(gathered == Array(v[(3 * headSize)...]))
    }
}
