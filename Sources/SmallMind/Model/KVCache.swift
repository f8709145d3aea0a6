/// Keys and values of every position a sequence has seen, for each layer, in fixed slots.
///
/// Layout: keys and values are each (layer, slot, position, kvDim). A single generation uses one
/// slot; a batching engine uses one slot per active sequence. Allocated once, up front: the decode
/// path never allocates. A cache belongs to one generation context and is never shared.
public final class KVCache {
    public let layerCount: Int
    public let slotCount: Int
    public let contextLength: Int
    public let keyValueSize: Int
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>

    public init(configuration: ModelConfiguration, slots: Int = 1, contextLength: Int? = nil) {
        layerCount = configuration.layerCount
        slotCount = slots
        self.contextLength = min(contextLength ?? configuration.contextLength, configuration.contextLength)
        keyValueSize = configuration.keyValueSize
        let count = layerCount * slotCount * self.contextLength * keyValueSize
        keys = .allocate(capacity: count)
        values = .allocate(capacity: count)
        keys.initialize(repeating: 0, count: count)
        values.initialize(repeating: 0, count: count)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Bytes one slot of `contextLength` positions takes (keys and values, all layers).
    public static func bytesPerSlot(configuration c: ModelConfiguration, contextLength: Int) -> Int {
        2 * c.layerCount * contextLength * c.keyValueSize * MemoryLayout<Float>.size
    }

    /// Bytes held by this cache.
    public var byteCount: Int { 2 * layerCount * slotCount * contextLength * keyValueSize * MemoryLayout<Float>.size }

    @inline(__always)
    func offset(layer: Int, slot: Int, position: Int = 0) -> Int {
        ((layer * slotCount + slot) * contextLength + position) * keyValueSize
    }
}
