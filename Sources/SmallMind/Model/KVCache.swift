import SmallMindKernels

/// Keys and values of every position a sequence has seen, for each layer, in fixed slots.
///
/// Layout: keys and values are each (layer, slot, key-value head, position, headSize) of
/// `elementType`: one head's keys (and values) lie one after another, position by position, so
/// attention streams them. (Position-major rows — (layer, slot, position, kvDim) — had each head
/// read 128 of every 1 536 bytes (m110, f16): memory latency took 11 % of batched generation.)
/// A single generation uses one slot; a batching engine uses one slot per active sequence. Allocated once,
/// up front: the decode path never allocates. A cache belongs to one generation context and is
/// never shared.
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

    public let layerCount: Int
    public let slotCount: Int
    public let contextLength: Int
    public let keyValueSize: Int
    public let headSize: Int
    public let elementType: ElementType
    /// Whose arithmetic the forward passes that fill and read this cache follow.
    public let arithmetic: ForwardArithmetic
    /// (layer, slot, key-value head, position, headSize) elements of `elementType`.
    let keys: UnsafeMutableRawPointer
    let values: UnsafeMutableRawPointer

    /// A cache of `slots` sequences of up to `contextLength` positions (at most the model's), keys
    /// and values stored as `elementType`, filled and read with `arithmetic` (`.llamaCpp` needs
    /// an `.f16` cache, as llama.cpp's default).
    public init(
        configuration: ModelConfiguration, slots: Int = 1, contextLength: Int? = nil, elementType: ElementType = .f32,
        arithmetic: ForwardArithmetic = .standard
    ) {
        precondition(arithmetic != .llamaCpp || elementType == .f16, "llama.cpp's arithmetic needs an f16 cache")
        layerCount = configuration.layerCount
        slotCount = slots
        self.contextLength = min(contextLength ?? configuration.contextLength, configuration.contextLength)
        keyValueSize = configuration.keyValueSize
        headSize = configuration.headSize
        self.elementType = elementType
        self.arithmetic = arithmetic
        let count = layerCount * slotCount * self.contextLength * keyValueSize
        keys = .allocate(byteCount: count * elementType.byteSize, alignment: 64)
        values = .allocate(byteCount: count * elementType.byteSize, alignment: 64)
        // Bound to the element type once, here; `store` and the attention kernels read it as such.
        // Not written: attention reads only positions already stored, and a large allocation's
        // untouched pages cost no memory — a slot takes memory for the positions it has used, not
        // for the whole context (a 32 768-position Qwen 2.5 slot would otherwise commit 805 MB).
        switch elementType {
        case .f32:
            keys.bindMemory(to: Float.self, capacity: count)
            values.bindMemory(to: Float.self, capacity: count)
        case .f16:
            keys.bindMemory(to: Float16.self, capacity: count)
            values.bindMemory(to: Float16.self, capacity: count)
        }
    }

    /// A cache whose forward passes reproduce llama.cpp's CPU arithmetic (`ForwardArithmetic.llamaCpp`):
    /// f16 keys and values, llama.cpp's roundings and summation orders. A parity mode for tests.
    public static func llamaCppCompatible(configuration: ModelConfiguration, slots: Int = 1, contextLength: Int? = nil) -> KVCache {
        KVCache(configuration: configuration, slots: slots, contextLength: contextLength, elementType: .f16, arithmetic: .llamaCpp)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Bytes one slot of `contextLength` positions takes (keys and values, all layers).
    public static func bytesPerSlot(configuration c: ModelConfiguration, contextLength: Int, elementType: ElementType = .f32) -> Int {
        2 * c.layerCount * contextLength * c.keyValueSize * elementType.byteSize
    }

    /// Bytes held by this cache.
    public var byteCount: Int { 2 * layerCount * slotCount * contextLength * keyValueSize * elementType.byteSize }

    /// Index, in elements, of (layer, slot, head, position, 0): the first of `headSize` elements;
    /// the next position's follow them.
    @inline(__always)
    func offset(layer: Int, slot: Int, head: Int, position: Int = 0) -> Int {
        (((layer * slotCount + slot) * (keyValueSize / headSize) + head) * contextLength + position) * headSize
    }

    /// Stores one position's keys and values (kvDim floats each, head after head), rounding them
    /// to half precision in an `.f16` cache (round to nearest even, as ggml's fp32→fp16).
    func store(key: UnsafePointer<Float>, value: UnsafePointer<Float>, layer: Int, slot: Int, position: Int) {
        for head in 0..<(keyValueSize / headSize) {
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
