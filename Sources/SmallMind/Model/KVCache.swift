import SmallMindKernels

/// Keys and values of every position a sequence has seen, for each layer, in a pool of blocks.
///
/// Paged (vLLM's PagedAttention): storage is `blockCount` blocks of `blockSize` positions, each
/// block holding those positions for every layer. A sequence (a slot) owns a block table — its
/// i-th entry names the block that holds positions i·blockSize ..< (i+1)·blockSize — so memory
/// follows the tokens a sequence actually holds, not the context it might reach, and one pool
/// (one byte budget) serves every sequence. A block can appear in several tables at once: that
/// is how a prompt prefix is shared between requests (the engine's `KVBlockManager` decides; a
/// shared block is only read, never written).
///
/// Layout: keys and values are each (layer, key-value head, block, position in block, headSize)
/// of `elementType`. Within a block one head's positions lie one after another, so attention
/// streams a run of `blockSize` rows and then follows the table to the next block: one
/// indirection per block, not per position. (Position-major rows — (…, position, kvDim) — had
/// each head read 128 of every 1 536 bytes (m110, f16): memory latency took 11 % of batched
/// generation.) Head-major within a layer, so that a sequence whose blocks were taken one after
/// another — a prompt's are — has each head's keys in one contiguous stream, as the slot cache's
/// (layer, slot, head, position) had. With the heads of a block side by side instead ((layer,
/// block, head, …)), one head's 4 KB runs lay 48 KB apart and m110's decode at 512 positions ran
/// 2–9 % slower than the slot cache at B = 4 and 8, though the attention kernel alone was not
/// slower over scattered blocks: the memory system, not the arithmetic (README, Memory).
/// A block number names the same positions in every layer and head; copying a block
/// (copy-on-write) is one `memcpy` per layer and head.
///
/// Allocated once, up front: the decode path never allocates. Untouched pages of the pool cost no
/// memory, and free blocks are reused last-freed-first, so the memory a process touches follows
/// the blocks in use at the peak, not the pool's size.
///
/// Half precision (`.f16`) halves the cache's memory — twice the sequences, or twice the context,
/// in the same bytes — at the price of rounding each key and value to 11 significant bits when it
/// is stored (relative error ≤ 2⁻¹¹). Attention still computes in float32 unless the cache asks
/// for llama.cpp's arithmetic (`arithmetic`).
public final class KVCache {
    /// How keys and values are stored.
    public enum ElementType: String, Sendable, CaseIterable {
        /// float32: exact; the default.
        case f32
        /// IEEE half precision: half the memory (llama.cpp's default cache type).
        case f16

        /// Bytes per stored element.
        public var byteSize: Int { self == .f32 ? 4 : 2 }
    }

    /// Positions per block unless asked otherwise: vLLM's default. Sixteen positions waste at
    /// most 15 per sequence (under 4 % of a 400-token request), share prompt prefixes at a
    /// 16-token grain, and still give attention contiguous runs of 16 rows — 4 KB per head for a
    /// 64-wide f32 head, a page — between indirections. (32 halves the table walks, which cost
    /// nothing measurable, and doubles the waste and the sharing grain.)
    public static let defaultBlockSize = 16

    public let layerCount: Int
    /// Sequences (block tables) the cache can hold at once.
    public let slotCount: Int
    /// Most positions of one sequence.
    public let contextLength: Int
    public let keyValueSize: Int
    public let headSize: Int
    /// Key-value heads (keyValueSize is keyValueHeads · headSize).
    let keyValueHeads: Int
    public let elementType: ElementType
    /// Whose arithmetic the forward passes that fill and read this cache follow.
    public let arithmetic: ForwardArithmetic
    /// Positions per block (at most `contextLength`).
    public let blockSize: Int
    /// Blocks in the pool.
    public let blockCount: Int
    /// Entries of one slot's block table: ⌈contextLength / blockSize⌉.
    let blocksPerSlot: Int
    /// Elements of one block of one (layer, head): the distance between consecutive blocks.
    let blockStride: Int
    /// Elements of one (layer, head) (all blocks).
    let headStride: Int
    /// Elements of one layer (all heads, all blocks).
    let layerStride: Int
    /// (layer, key-value head, block, position in block, headSize) elements of `elementType`.
    let keys: UnsafeMutableRawPointer
    let values: UnsafeMutableRawPointer
    /// (slot, blocksPerSlot): the block holding each run of positions, or -1 for none yet.
    let blockTables: UnsafeMutablePointer<Int32>
    /// Blocks in no table and no prefix index, last freed on top (its pages are the warmest).
    private var freeBlocks: [Int32]

    /// A cache of `slots` sequences of up to `contextLength` positions (at most the model's), keys
    /// and values stored as `elementType`, filled and read with `arithmetic` (`.llamaCpp` needs
    /// an `.f16` cache, as llama.cpp's default), in blocks of `blockSize` positions. `blockCount`
    /// bounds the pool (nil: enough for every slot's whole context, as a contiguous cache would
    /// reserve — pages are touched only as blocks are used).
    public init(
        configuration: ModelConfiguration, slots: Int = 1, contextLength: Int? = nil, elementType: ElementType = .f32,
        arithmetic: ForwardArithmetic = .standard, blockSize: Int = KVCache.defaultBlockSize, blockCount: Int? = nil
    ) {
        precondition(!arithmetic.followsLlamaCpp || elementType == .f16, "llama.cpp's arithmetic needs an f16 cache")
        precondition(blockSize >= 1 && slots >= 1, "a cache needs a slot and blocks of at least one position")
        layerCount = configuration.layerCount
        slotCount = slots
        self.contextLength = min(contextLength ?? configuration.contextLength, configuration.contextLength)
        keyValueSize = configuration.keyValueSize
        headSize = configuration.headSize
        keyValueHeads = configuration.keyValueHeadCount
        self.elementType = elementType
        self.arithmetic = arithmetic
        self.blockSize = min(blockSize, self.contextLength)
        blocksPerSlot = (self.contextLength + self.blockSize - 1) / self.blockSize
        self.blockCount = blockCount ?? slots * blocksPerSlot
        precondition(self.blockCount >= 1, "a cache needs at least one block")
        blockStride = self.blockSize * headSize
        headStride = self.blockCount * blockStride
        layerStride = keyValueHeads * headStride
        let count = layerCount * layerStride
        // Page-aligned: one head's run of a block (4 KB for 16 positions of a 64-wide f32 head)
        // then covers whole pages, not parts of two, as `smallmind bench-attention`'s pool does.
        // (What this alone gains was within that benchmark's noise; the prefetch hints are what
        // brought the paged kernel level with the contiguous one.)
        keys = .allocate(byteCount: count * elementType.byteSize, alignment: 4096)
        values = .allocate(byteCount: count * elementType.byteSize, alignment: 4096)
        // Bound to the element type once, here; `store` and the attention kernels read it as such.
        // Not written: attention reads only positions already stored, and a large allocation's
        // untouched pages cost no memory.
        switch elementType {
        case .f32:
            keys.bindMemory(to: Float.self, capacity: count)
            values.bindMemory(to: Float.self, capacity: count)
        case .f16:
            keys.bindMemory(to: Float16.self, capacity: count)
            values.bindMemory(to: Float16.self, capacity: count)
        }
        blockTables = .allocate(capacity: slots * blocksPerSlot)
        blockTables.initialize(repeating: -1, count: slots * blocksPerSlot)
        freeBlocks = (0..<Int32(self.blockCount)).reversed()
    }

    /// A cache whose forward passes reproduce llama.cpp's CPU arithmetic (`ForwardArithmetic.llamaCpp`,
    /// or `.llamaCppAVX512` with `avx512`): f16 keys and values, llama.cpp's roundings and summation
    /// orders. A parity mode for tests.
    public static func llamaCppCompatible(
        configuration: ModelConfiguration, slots: Int = 1, contextLength: Int? = nil, blockSize: Int = KVCache.defaultBlockSize,
        avx512: Bool = false
    ) -> KVCache {
        KVCache(configuration: configuration, slots: slots, contextLength: contextLength, elementType: .f16,
                arithmetic: avx512 ? .llamaCppAVX512 : .llamaCpp, blockSize: blockSize)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
        blockTables.deallocate()
    }

    /// Bytes one slot of `contextLength` positions takes (keys and values, all layers).
    public static func bytesPerSlot(configuration c: ModelConfiguration, contextLength: Int, elementType: ElementType = .f32) -> Int {
        2 * c.layerCount * contextLength * c.keyValueSize * elementType.byteSize
    }

    /// Bytes of one position (keys and values, all layers).
    public static func bytesPerPosition(configuration c: ModelConfiguration, elementType: ElementType = .f32) -> Int {
        bytesPerSlot(configuration: c, contextLength: 1, elementType: elementType)
    }

    /// Bytes of one block.
    public var bytesPerBlock: Int { 2 * layerCount * blockSize * keyValueSize * elementType.byteSize }

    /// Bytes held by this cache (its whole pool).
    public var byteCount: Int { blockCount * bytesPerBlock }

    // MARK: - Blocks and tables

    /// Empties every table and returns every block to the pool, in the order a new cache hands
    /// them out (so a reused cache touches the same, already resident, pages). Not for a cache an
    /// engine manages: its block manager keeps its own account of the blocks.
    public func removeAll() {
        blockTables.update(repeating: -1, count: slotCount * blocksPerSlot)
        freeBlocks = (0..<Int32(blockCount)).reversed()
    }

    /// Blocks in no table (and, in an engine, in no prefix index).
    public var freeBlockCount: Int { freeBlocks.count }

    /// Takes a free block, or nil when the pool is dry.
    func takeFreeBlock() -> Int32? { freeBlocks.popLast() }

    /// Returns a block nobody reads any more to the pool.
    func returnBlock(_ block: Int32) { freeBlocks.append(block) }

    /// The block holding `slot`'s positions index·blockSize ..< (index+1)·blockSize, or -1.
    @inline(__always)
    func block(slot: Int, index: Int) -> Int32 { blockTables[slot * blocksPerSlot + index] }

    /// Puts `block` at `index` of `slot`'s table.
    func setBlock(_ block: Int32, slot: Int, index: Int) { blockTables[slot * blocksPerSlot + index] = block }

    /// Empties `slot`'s table (its blocks are the caller's to free or keep).
    func clearTable(slot: Int) { (blockTables + slot * blocksPerSlot).update(repeating: -1, count: blocksPerSlot) }

    /// Gives every position of `batch` a block, taking free ones where a table has none yet: what
    /// a cache used on its own (a `GenerationContext`, a test) needs before a pass. An engine
    /// assigns blocks itself, so for it this only checks. Serial, before any thread writes.
    func assignBlocks(for batch: [BatchToken]) {
        for t in batch {
            precondition(t.position >= 0 && t.position < contextLength, "position \(t.position) outside the cache")
            precondition(t.slot >= 0 && t.slot < slotCount, "slot \(t.slot) outside the cache")
        }
        for t in batch where block(slot: t.slot, index: t.position / blockSize) < 0 {
            guard let free = takeFreeBlock() else {
                preconditionFailure("the KV cache's \(blockCount) blocks are all in use (slot \(t.slot), position \(t.position))")
            }
            setBlock(free, slot: t.slot, index: t.position / blockSize)
        }
    }

    /// Copies every layer's keys and values of block `source` into block `destination`.
    func copyBlock(_ source: Int32, to destination: Int32) {
        let bytes = blockStride * elementType.byteSize
        for l in 0..<layerCount {
            for head in 0..<keyValueHeads {
                let base = headOffset(layer: l, head: head) * elementType.byteSize
                let from = base + Int(source) * bytes, to = base + Int(destination) * bytes
                (keys + to).copyMemory(from: keys + from, byteCount: bytes)
                (values + to).copyMemory(from: values + from, byteCount: bytes)
            }
        }
    }

    // MARK: - Addressing

    /// Index, in elements, of (layer, head) in block 0: add `blockIndex · blockStride` for a block.
    @inline(__always)
    func headOffset(layer: Int, head: Int) -> Int {
        layer * layerStride + head * headStride
    }

    /// Index, in elements, of (layer, slot, head, position, 0): the first of `headSize` elements;
    /// the next position's follow them within the block. The position must have a block.
    @inline(__always)
    func offset(layer: Int, slot: Int, head: Int, position: Int = 0) -> Int {
        let b = Int(block(slot: slot, index: position / blockSize))
        precondition(b >= 0, "position \(position) of slot \(slot) has no KV block")
        return b * blockStride + headOffset(layer: layer, head: head) + (position % blockSize) * headSize
    }

    /// Stores one position's keys and values (kvDim floats each, head after head), rounding them
    /// to half precision in an `.f16` cache (round to nearest even, as ggml's fp32→fp16).
    func store(key: UnsafePointer<Float>, value: UnsafePointer<Float>, layer: Int, slot: Int, position: Int) {
        for head in 0..<keyValueHeads {
            let at = offset(layer: layer, slot: slot, head: head, position: position), from = head * headSize
            switch elementType {
            case .f32:
                (keys.assumingMemoryBound(to: Float.self) + at).update(from: key + from, count: headSize)
                (values.assumingMemoryBound(to: Float.self) + at).update(from: value + from, count: headSize)
            case .f16:
                Half.round(key + from, count: headSize, into: keys.assumingMemoryBound(to: Float16.self) + at)
                Half.round(value + from, count: headSize, into: values.assumingMemoryBound(to: Float16.self) + at)
            }
        }
    }
}
