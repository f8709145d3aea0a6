// Kernel benchmark: decode attention over a contiguous cache (`Attention.head`, each head's
// positions one after another) against the paged cache's kernel (`Attention.pagedHead`, the same
// positions in blocks scattered over a pool, as a pool looks after requests have come and gone),
// on the same keys and values, in the same process, alternating run by run — so the two layouts
// compare without two binaries' run-to-run noise. The outputs must be bit-identical (checked).
import Foundation
import SmallMind
import SmallMindKernels

public struct AttentionBenchmarkResult: Codable, Sendable {
    public var positions: Int
    public var sequences: Int
    public var heads: Int
    public var headSize: Int
    public var blockSize: Int
    public var type: String
    /// Median seconds of one pass (every sequence's every head over all its positions).
    public var contiguousSeconds: Double
    public var pagedSeconds: Double
    /// Keys and values read per second, GB/s.
    public var contiguousGBps: Double
    public var pagedGBps: Double
    /// paged / contiguous speed (above 1: the paged kernel is faster).
    public var ratio: Double
}

public enum AttentionBenchmark {
    /// One decode step's attention for `sequences` sequences of `positions` positions each, `heads`
    /// heads of `headSize`: one warm-up pass of each kernel, then `repetitions` passes of each,
    /// alternating which goes first. Sequences are spread over the pool's threads.
    public static func run(
        positions: Int, sequences: Int, heads: Int, headSize: Int, blockSize: Int, type: KVCache.ElementType,
        pool: ThreadPool, repetitions: Int
    ) throws -> AttentionBenchmarkResult {
        // The public entry points for each element type: what the forward pass calls.
        switch type {
        case .f32:
            return try measure(
                Float.self, positions: positions, sequences: sequences, heads: heads, headSize: headSize, blockSize: blockSize,
                pool: pool, repetitions: repetitions, type: type, contiguous: Attention.head, paged: Attention.pagedHead)
        case .f16:
            return try measure(
                Float16.self, positions: positions, sequences: sequences, heads: heads, headSize: headSize, blockSize: blockSize,
                pool: pool, repetitions: repetitions, type: type, contiguous: Attention.head, paged: Attention.pagedHead)
        }
    }

    /// `Attention.head`'s and `Attention.pagedHead`'s signatures for one element type.
    typealias ContiguousKernel<Element> = (
        UnsafePointer<Float>, UnsafePointer<Element>, UnsafePointer<Element>, Int, Int, Int, Float?, Float?,
        UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>
    ) -> Void
    typealias PagedKernel<Element: CacheElement> = (
        UnsafePointer<Float>, PagedRows<Element>, Int, Int, Int, Float?, Float?, UnsafeMutablePointer<Float>,
        UnsafeMutablePointer<Float>
    ) -> Void

    static func measure<Element: CacheElement & BinaryFloatingPoint>(
        _: Element.Type, positions: Int, sequences: Int, heads: Int, headSize: Int, blockSize: Int, pool: ThreadPool,
        repetitions: Int, type: KVCache.ElementType,
        contiguous kernel: @escaping ContiguousKernel<Element>, paged pagedKernel: @escaping PagedKernel<Element>
    ) throws -> AttentionBenchmarkResult {
        let perSequence = (positions + blockSize - 1) / blockSize
        let blockCount = sequences * perSequence
        let blockStride = blockSize * headSize                // one block of one head
        let headStride = blockCount * blockStride             // one head's blocks, all of them
        let headRun = positions * headSize                    // one head's rows, contiguous
        let count = sequences * heads * headRun
        // Contiguous: (sequence, head, position, headSize). Paged, as the KV cache: (head, block,
        // position in block, headSize) with each sequence's blocks drawn from a scrambled pool (the
        // worst case: the cache hands out consecutive blocks where it can).
        let keys = UnsafeMutablePointer<Element>.allocate(capacity: count), values = UnsafeMutablePointer<Element>.allocate(capacity: count)
        // Page-aligned, as the KV cache's pool is (a block's run of one head then starts a page).
        func pageAligned(_ count: Int) -> UnsafeMutablePointer<Element> {
            UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Element>.stride, alignment: 4096)
                .bindMemory(to: Element.self, capacity: count)
        }
        let pagedKeys = pageAligned(heads * headStride), pagedValues = pageAligned(heads * headStride)
        let tables = UnsafeMutablePointer<Int32>.allocate(capacity: blockCount)
        let queries = UnsafeMutablePointer<Float>.allocate(capacity: sequences * heads * headSize)
        let outContiguous = UnsafeMutablePointer<Float>.allocate(capacity: sequences * heads * headSize)
        let outPaged = UnsafeMutablePointer<Float>.allocate(capacity: sequences * heads * headSize)
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: pool.threadCount * positions)
        defer {
            keys.deallocate(); values.deallocate(); pagedKeys.deallocate(); pagedValues.deallocate(); tables.deallocate()
            queries.deallocate(); outContiguous.deallocate(); outPaged.deallocate(); scores.deallocate()
        }
        // A fixed scramble of the pool: blocks ordered by a multiplicative hash of their number
        // (odd multiplier, so the keys are distinct and the order a permutation).
        let order = (0..<UInt32(blockCount)).sorted { $0 &* 2_654_435_761 < $1 &* 2_654_435_761 }
        for i in 0..<blockCount { tables[i] = Int32(order[i]) }
        // Values in [-1, 1], the same for both layouts; their pattern does not matter to the speed.
        func value(_ index: Int, _ salt: Int) -> Float { Float((index &* 7919 &+ salt) % 2001) / 1000 - 1 }
        for s in 0..<sequences {
            for h in 0..<heads {
                for t in 0..<positions {
                    let from = ((s * heads + h) * positions + t) * headSize
                    let block = Int(tables[s * perSequence + t / blockSize])
                    let to = h * headStride + block * blockStride + (t % blockSize) * headSize
                    for i in 0..<headSize {
                        keys[from + i] = Element(value(from + i, 13))
                        values[from + i] = Element(value(from + i, 1009))
                        pagedKeys[to + i] = keys[from + i]
                        pagedValues[to + i] = values[from + i]
                    }
                }
            }
        }
        for i in 0..<sequences * heads * headSize { queries[i] = value(i, 577) }

        func contiguous() {
            pool.run(tasks: sequences) { s, worker in
                for h in 0..<heads {
                    let at = (s * heads + h) * headRun, q = (s * heads + h) * headSize
                    kernel(queries + q, keys + at, values + at, headSize, headSize, positions - 1, nil, nil,
                           scores + worker * positions, outContiguous + q)
                }
            }
        }
        func paged() {
            pool.run(tasks: sequences) { s, worker in
                for h in 0..<heads {
                    let rows = PagedRows(keys: UnsafePointer(pagedKeys + h * headStride),
                                         values: UnsafePointer(pagedValues + h * headStride),
                                         blockTable: UnsafePointer(tables + s * perSequence), blockStride: blockStride, blockSize: blockSize)
                    let q = (s * heads + h) * headSize
                    pagedKernel(queries + q, rows, headSize, 0, positions - 1, nil, nil, scores + worker * positions, outPaged + q)
                }
            }
        }
        let clock = ContinuousClock()
        func time(_ body: () -> Void) -> Double {
            let start = clock.now
            body()
            return (clock.now - start).seconds
        }
        contiguous(); paged()
        guard memcmp(outContiguous, outPaged, sequences * heads * headSize * 4) == 0 else {
            throw AttentionBenchmarkError.outputsDiffer(positions: positions)
        }
        var contiguousTimes: [Double] = [], pagedTimes: [Double] = []
        for repetition in 0..<repetitions {
            if repetition % 2 == 0 {
                contiguousTimes.append(time(contiguous)); pagedTimes.append(time(paged))
            } else {
                pagedTimes.append(time(paged)); contiguousTimes.append(time(contiguous))
            }
        }
        let c = BatchedBenchmark.median(contiguousTimes), p = BatchedBenchmark.median(pagedTimes)
        let bytes = Double(2 * count * MemoryLayout<Element>.size)
        return AttentionBenchmarkResult(
            positions: positions, sequences: sequences, heads: heads, headSize: headSize, blockSize: blockSize, type: type.rawValue,
            contiguousSeconds: c, pagedSeconds: p, contiguousGBps: bytes / c / 1e9, pagedGBps: bytes / p / 1e9, ratio: c / p)
    }
}

public enum AttentionBenchmarkError: Error, CustomStringConvertible {
    case outputsDiffer(positions: Int)

    public var description: String {
        switch self {
        case .outputsDiffer(let positions):
            "at \(positions) positions the paged kernel's output differs from the contiguous kernel's: a bug, please report it"
        }
    }
}
