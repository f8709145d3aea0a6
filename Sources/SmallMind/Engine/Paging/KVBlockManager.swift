// Which KV blocks each sequence holds, and which blocks hold a known run of tokens.
//
// Every block of the engine's pool is in one of three states:
//   - referenced: in one or more sequences' block tables (a reference count per block);
//   - cached: in no table, but indexed by the tokens it holds — kept for a later request whose
//     prompt starts the same way, and evicted least recently used first when blocks run out;
//   - free: neither (the cache's free list).
//
// The index is a tree of blocks (SGLang's radix tree at block grain, vLLM's automatic prefix
// caching): a block's parent is the block holding the positions just before it, so a block stands
// for all the tokens from position 0 to its end. Full blocks are found by a hash of those tokens
// (the parent's hash, the block's tokens, and the cache's identity); every hit is checked against
// the parent and the tokens themselves, so a hash collision costs a miss, never a wrong key. A
// block that is only partly full — the end of a finished sequence, such as a conversation's last
// turn — is indexed too, under its parent, for the copy-on-write match below.
//
// Why sharing cannot change a result: every kernel reduces in a fixed order, so the keys and
// values a position gets are the same bits whichever request computed them, in prefill or in
// decode. A shared block is only read: the first block a new sequence would write into (its first
// divergent block, or the block of the last prompt token, which must be fed again for its logits)
// is copied first (copy-on-write), and the sequence writes into its copy.
//
// An unreferenced block's indexed descendants are unreferenced too (a sequence that holds a block
// holds every block before it), so evicting a block evicts its subtree with it.

/// The engine's bookkeeping over a `KVCache`'s blocks. Owned by the scheduler thread.
final class KVBlockManager {
    let cache: KVCache
    /// Whether blocks are indexed and shared at all.
    let sharing: Bool
    private let blockSize: Int
    private let salt: UInt64

    /// Per block: tables it is in.
    private var references: [Int32]
    /// Per block: its parent in the index (-1: the root, i.e. position 0), or `unindexed`.
    private var parent: [Int32]
    /// Per block: the tokens it holds, when indexed (fewer than `blockSize` for a partial block).
    private var tokens: [[Int]]
    /// Per block: the hash of every token up to its end, when indexed and full.
    private var chainHash: [UInt64]
    private var fullBlocks: [UInt64: Int32] = [:]
    private var children: [Int32: [Int32]] = [:]
    private static let unindexed: Int32 = -2
    private static let root: Int32 = -1

    /// Cached blocks, least recently used first: a doubly linked list through `newer`/`older`.
    private var newer: [Int32], older: [Int32]
    private var oldest: Int32 = -1, newest: Int32 = -1
    private(set) var cachedCount = 0

    /// Per slot: blocks in its table, and how many of them (from the first) are indexed.
    private var tableLength: [Int]
    private var indexedLength: [Int]
    /// Per slot: the chain hash at the end of its indexed blocks.
    private var slotHash: [UInt64]

    init(cache: KVCache, sharing: Bool, identity: UInt64) {
        self.cache = cache
        self.sharing = sharing
        blockSize = cache.blockSize
        salt = Self.mix(identity, UInt64(cache.blockSize) &* 31 &+ UInt64(cache.elementType.byteSize))
        let n = cache.blockCount
        references = Array(repeating: 0, count: n)
        parent = Array(repeating: Self.unindexed, count: n)
        tokens = Array(repeating: [], count: n)
        chainHash = Array(repeating: 0, count: n)
        newer = Array(repeating: -1, count: n)
        older = Array(repeating: -1, count: n)
        tableLength = Array(repeating: 0, count: cache.slotCount)
        indexedLength = Array(repeating: 0, count: cache.slotCount)
        slotHash = Array(repeating: salt, count: cache.slotCount)
    }

    /// Blocks a new sequence could get: free ones and cached ones (evicted on demand).
    var availableCount: Int { cache.freeBlockCount + cachedCount }

    /// Blocks in some sequence's table.
    var referencedCount: Int { cache.blockCount - availableCount }

    // MARK: - Matching a prompt

    /// What a sequence can reuse: `shared` blocks as they are (its table's first entries), then
    /// optionally the first `copiedTokens` positions of `copySource`, copied into a block of its
    /// own. `reusedTokens` = shared.count · blockSize + copiedTokens.
    struct Match {
        var shared: [Int32] = []
        var copySource: Int32?
        var copiedTokens = 0
        var chainHash: UInt64
        var reusedTokens: Int
    }

    /// The longest reusable prefix of `context`, at most `limit` tokens (a fresh request must feed
    /// its last prompt token again for its logits: limit = count − 1).
    func match(_ context: [Int], limit: Int) -> Match {
        var m = Match(chainHash: salt, reusedTokens: 0)
        guard sharing, limit > 0 else { return m }
        var previous = Self.root
        // Whole blocks, by hash, each hit verified.
        while (m.shared.count + 1) * blockSize <= limit {
            let start = m.shared.count * blockSize
            let run = context[start..<start + blockSize]
            let hash = Self.chain(m.chainHash, run)
            guard let b = fullBlocks[hash], parent[Int(b)] == previous, tokens[Int(b)].elementsEqual(run) else { break }
            m.shared.append(b)
            m.chainHash = hash
            previous = b
        }
        // The first divergent block: the child of the last match sharing the longest run.
        let start = m.shared.count * blockSize
        let wanted = context[start..<min(limit, start + blockSize)]
        var best = 0
        for child in children[previous] ?? [] {
            let common = zip(tokens[Int(child)], wanted).prefix { $0 == $1 }.count
            if common > best {
                best = common
                m.copySource = child
            }
        }
        m.copiedTokens = best
        m.reusedTokens = start + best
        return m
    }

    /// Available blocks that taking `match` for `positions` positions needs: its cached blocks
    /// (they become referenced) and the fresh ones. A cached copy source must outlive the taking
    /// of its copy, so then at least one other block must be available too.
    func blocksNeeded(_ match: Match, positions: Int) -> Int {
        let total = (positions + blockSize - 1) / blockSize
        let pinned = match.shared.reduce(0) { $0 + (references[Int($1)] == 0 ? 1 : 0) }
        let fresh = max(0, total - match.shared.count)
        if let source = match.copySource, references[Int(source)] == 0 { return pinned + max(fresh, 2) }
        return pinned + fresh
    }

    /// `match` without its copy-on-write block: what to take when the copy does not fit.
    func withoutCopy(_ match: Match) -> Match {
        var m = match
        m.reusedTokens -= m.copiedTokens
        m.copySource = nil
        m.copiedTokens = 0
        return m
    }

    // MARK: - Tables

    /// Gives `slot` (whose table is empty) the blocks of `match` and fresh blocks for the rest of
    /// `positions` positions. The caller checked `blocksNeeded` ≤ `availableCount`.
    func assign(slot: Int, match: Match, positions: Int) {
        precondition(tableLength[slot] == 0, "slot \(slot) already holds blocks")
        for (i, b) in match.shared.enumerated() {
            retain(b)
            cache.setBlock(b, slot: slot, index: i)
        }
        tableLength[slot] = match.shared.count
        indexedLength[slot] = match.shared.count
        slotHash[slot] = match.chainHash
        if let source = match.copySource {
            retain(source)  // so that taking a block cannot evict it
            let copy = take()!
            cache.copyBlock(source, to: copy)
            release(source)
            append(copy, slot: slot)
        }
        while tableLength[slot] * blockSize < positions { append(take()!, slot: slot) }
    }

    /// Gives `slot` the block for position `position` if it has none; false when the pool is dry.
    func grow(slot: Int, toHold position: Int) -> Bool {
        let index = position / blockSize
        if index < tableLength[slot] { return true }
        precondition(index == tableLength[slot], "slot \(slot) grows by one block at a time")
        guard let b = take() else { return false }
        append(b, slot: slot)
        return true
    }

    /// Indexes the blocks of `slot` that `held` (the tokens at its positions 0..<held.count) fills
    /// completely. Called after each step: hashing happens once per block, not per token.
    func indexFullBlocks(slot: Int, held: [Int]) {
        guard sharing else { return }
        while indexedLength[slot] < tableLength[slot], (indexedLength[slot] + 1) * blockSize <= held.count {
            guard index(slot: slot, at: indexedLength[slot], tokens: held, count: blockSize) else { return }
        }
    }

    /// Empties `slot`'s table. With sharing, its full blocks and its last, partial block (the end
    /// of a conversation's turn) stay indexed for later requests; the rest are freed.
    func releaseSlot(_ slot: Int, held: [Int]) {
        if sharing {
            indexFullBlocks(slot: slot, held: held)
            let i = indexedLength[slot], filled = held.count - i * blockSize
            if i < tableLength[slot], filled > 0, filled < blockSize {
                _ = index(slot: slot, at: i, tokens: held, count: filled)
            }
        }
        // The last block first: leaves become older than their parents, so eviction takes them first.
        for i in stride(from: tableLength[slot] - 1, through: 0, by: -1) { release(cache.block(slot: slot, index: i)) }
        cache.clearTable(slot: slot)
        tableLength[slot] = 0
        indexedLength[slot] = 0
        slotHash[slot] = salt
    }

    // MARK: - Private

    /// Puts a fresh block (free, in no table) at the end of `slot`'s table.
    private func append(_ b: Int32, slot: Int) {
        references[Int(b)] = 1
        cache.setBlock(b, slot: slot, index: tableLength[slot])
        tableLength[slot] += 1
    }

    /// Indexes block `at` of `slot`, holding `count` tokens of `held` from at·blockSize. A full
    /// block already indexed with the same tokens (another sequence computed the same prefix
    /// beside this one) replaces this one in the table: the same bits, one copy. False when the
    /// block cannot be indexed (a hash collision), which ends the slot's indexing.
    private func index(slot: Int, at i: Int, tokens held: [Int], count: Int) -> Bool {
        let b = cache.block(slot: slot, index: i)
        let run = Array(held[i * blockSize..<i * blockSize + count])
        let previous = i == 0 ? Self.root : cache.block(slot: slot, index: i - 1)
        if parent[Int(b)] != Self.unindexed {
            // Already indexed (a shared block): nothing to add.
            if count == blockSize { advance(slot: slot, hash: chainHash[Int(b)]) }
            return count == blockSize
        }
        if count < blockSize {
            parent[Int(b)] = previous
            tokens[Int(b)] = run
            children[previous, default: []].append(b)
            return false
        }
        let hash = Self.chain(slotHash[slot], run[...])
        if let existing = fullBlocks[hash] {
            guard parent[Int(existing)] == previous, tokens[Int(existing)] == run else { return false }
            retain(existing)
            cache.setBlock(existing, slot: slot, index: i)
            release(b)
        } else {
            parent[Int(b)] = previous
            tokens[Int(b)] = run
            chainHash[Int(b)] = hash
            fullBlocks[hash] = b
            children[previous, default: []].append(b)
        }
        advance(slot: slot, hash: hash)
        return true
    }

    private func advance(slot: Int, hash: UInt64) {
        indexedLength[slot] += 1
        slotHash[slot] = hash
    }

    /// A free block, evicting the least recently used cached block (and its subtree) if need be.
    private func take() -> Int32? {
        if let b = cache.takeFreeBlock() { return b }
        guard oldest >= 0 else { return nil }
        evict(oldest)
        return cache.takeFreeBlock()
    }

    private func retain(_ b: Int32) {
        if references[Int(b)] == 0 && parent[Int(b)] != Self.unindexed { unlink(b) }
        references[Int(b)] += 1
    }

    private func release(_ b: Int32) {
        references[Int(b)] -= 1
        guard references[Int(b)] == 0 else { return }
        if parent[Int(b)] != Self.unindexed { link(b) } else { cache.returnBlock(b) }
    }

    private func evict(_ b: Int32) {
        precondition(references[Int(b)] == 0, "evicting a block in use")
        unlink(b)
        let p = parent[Int(b)]
        children[p]?.removeAll { $0 == b }
        if tokens[Int(b)].count == blockSize, fullBlocks[chainHash[Int(b)]] == b { fullBlocks[chainHash[Int(b)]] = nil }
        for child in children.removeValue(forKey: b) ?? [] { evict(child) }
        parent[Int(b)] = Self.unindexed
        tokens[Int(b)] = []
        cache.returnBlock(b)
    }

    /// Appends a cached block as the most recently used.
    private func link(_ b: Int32) {
        older[Int(b)] = newest
        newer[Int(b)] = -1
        if newest >= 0 { newer[Int(newest)] = b } else { oldest = b }
        newest = b
        cachedCount += 1
    }

    private func unlink(_ b: Int32) {
        let (o, n) = (older[Int(b)], newer[Int(b)])
        if o >= 0 { newer[Int(o)] = n } else { oldest = n }
        if n >= 0 { older[Int(n)] = o } else { newest = o }
        cachedCount -= 1
    }

    // MARK: - Hashing

    /// The hash of a block's tokens following the prefix whose hash is `previous`.
    static func chain(_ previous: UInt64, _ run: ArraySlice<Int>) -> UInt64 {
        var h = previous
        for t in run { h = mix(h, UInt64(bitPattern: Int64(t))) }
        return h
    }

    /// One step of a 64-bit mixer (splitmix64's finaliser over the running value and the input).
    @inline(__always)
    static func mix(_ h: UInt64, _ x: UInt64) -> UInt64 {
        var z = (h ^ x) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension KVBlockManager {
    static func commonPrefixLength(_ a: [Int], _ b: [Int]) -> Int {
        var length = 0
        let limit = min(a.count, b.count)
        while length < limit && a[length] == b[length] { length += 1 }
        return length
    }
}

extension ModelConfiguration {
    /// Seeds the prefix index's hashes with the model's shape. An index lives inside one engine's
    /// cache of one model, so this only keeps hashes of different models' blocks apart should
    /// they ever be compared; a hit is always checked against the tokens themselves.
    var cacheIdentity: UInt64 {
        [layerCount, embeddingSize, hiddenSize, headCount, keyValueHeadCount, headSize, vocabularySize, contextLength]
            .reduce(0x5349_4D4C_4D49_4E44) { KVBlockManager.mix($0, UInt64($1)) }
    }
}
