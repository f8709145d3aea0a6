import Testing
@testable import SmallMind
@testable import SmallMindKernels

/// The forward pass over a paged KV cache: logits bit-identical to the contiguous cache (one block
/// per sequence) at any block size, batch, thread count and element type, with blocks handed out
/// in a scrambled order.
struct PagedForwardTests {
    /// A block size beyond any test model's context: one block per sequence, the contiguous layout.
    static let contiguous = 1 << 20

    @Test(arguments: [0, 1])
    func logitsAreBitIdenticalToTheContiguousCacheAtAnyBlockSize(modelIndex: Int) throws {
        let model = try BatchInvarianceTests.models()[modelIndex]
        let tokens = (0..<20).map { ($0 * 7 + 1) % model.configuration.vocabularySize }
        for elementType in KVCache.ElementType.allCases {
            let reference = BatchInvarianceTests.logits(
                model, tokens: tokens, chunk: 20, threads: 1, companions: 0, slot: 0, elementType: elementType, blockSize: Self.contiguous)
            for (blockSize, chunk, threads, companions, slot) in [(1, 1, 1, 0, 0), (3, 7, 2, 31, 5), (16, 3, 2, 8, 8), (5, 20, 1, 3, 1)] {
                let paged = BatchInvarianceTests.logits(
                    model, tokens: tokens, chunk: chunk, threads: threads, companions: companions, slot: slot,
                    elementType: elementType, blockSize: blockSize)
                #expect(paged == reference, "\(elementType), block \(blockSize), chunk \(chunk), threads \(threads), companions \(companions)")
            }
            let split = BatchInvarianceTests.logits(
                model, tokens: tokens, chunk: 3, threads: 2, companions: 31, slot: 7, elementType: elementType, splitsEverything: true,
                blockSize: 2)
            #expect(split == reference, "\(elementType): layer by layer, everything split, blocks of 2")
        }
    }

    /// llama.cpp's parity arithmetic (f16 flash attention, which reads contiguous rows) over a
    /// paged cache: the rows are gathered block by block, and the logits do not move.
    @Test func llamaCppArithmeticIsUnchangedByPaging() throws {
        let model = try BatchInvarianceTests.models()[1]
        let tokens = (0..<14).map { ($0 * 5 + 2) % model.configuration.vocabularySize }
        let reference = BatchInvarianceTests.logits(
            model, tokens: tokens, chunk: 14, threads: 1, companions: 0, slot: 0, elementType: .f16, blockSize: Self.contiguous,
            arithmetic: .llamaCpp)
        for blockSize in [1, 4, 16] {
            let paged = BatchInvarianceTests.logits(
                model, tokens: tokens, chunk: 14, threads: 1, companions: 0, slot: 0, elementType: .f16, blockSize: blockSize,
                arithmetic: .llamaCpp)
            #expect(paged == reference, "block \(blockSize)")
        }
        // It really is the other arithmetic (the logits differ from this runtime's).
        let standard = BatchInvarianceTests.logits(model, tokens: tokens, chunk: 14, threads: 1, companions: 0, slot: 0, elementType: .f16)
        #expect(standard != reference)
    }

    /// `removeAll` (what `smallmind bench` does between runs) leaves a cache that behaves as a new
    /// one: the same sequences fed again give the same logits, with blocks handed out afresh.
    @Test func anEmptiedCacheGivesTheLogitsOfANewOne() throws {
        let model = try BatchInvarianceTests.models()[1]
        let c = model.configuration
        let cache = KVCache(configuration: c, slots: 3, contextLength: 24, blockSize: 4)
        let workspace = Workspace(configuration: c)
        func run(_ offset: Int) -> [Float] {
            var batch: [BatchToken] = []
            for slot in 0..<3 {
                for p in 0..<(9 + slot * 5) {
                    batch.append(BatchToken(token: (slot * 11 + p * 3 + offset) % c.vocabularySize, position: p, slot: slot))
                }
            }
            return Array(model.weights.forward(batch, cache: cache, workspace: workspace))
        }
        let first = run(0)
        #expect(cache.freeBlockCount < cache.blockCount)
        cache.removeAll()
        #expect(cache.freeBlockCount == cache.blockCount)
        #expect((0..<3).allSatisfy { cache.block(slot: $0, index: 0) == -1 })
        let different = run(1)    // other tokens into the same blocks
        cache.removeAll()
        #expect(run(0) == first)
        #expect(different != first)
    }
}
