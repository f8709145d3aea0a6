// A list of byte strings with a hash index from bytes to position: the vocabulary lookup behind
// every tokenizer here (piece text → token id).
//
// Why not `[[UInt8]: Int]` or `[String: Int]`: a Swift `String` compares by canonical equivalence
// (two different byte spellings of "é" are equal), which is wrong for token texts, and array keys
// cost an allocation per lookup. Here every string lives in one byte buffer and lookups take a
// pointer and a length (a slice of the text being tokenized).
//
// The buffers are raw memory rather than arrays because this code must be fast in unoptimised
// (debug) builds too, where `UnsafePointer` access is inlined but `Array` subscripts,
// `withUnsafeBufferPointer` closures and exclusivity checks are calls. Value semantics by
// copy-on-write.

/// An append-only list of byte strings, indexed by position and findable by content.
struct ByteStringTable: Sendable {
    /// Which position `find` returns when the same bytes were appended more than once.
    enum DuplicatePolicy {
        /// The first position (llama2.c's vocabulary, where duplicates never replace an entry).
        case keepFirst
        /// The last position (llama.cpp's `token_to_id[text] = id` in id order).
        case keepLast
    }

    private var buffer: Buffer

    init(reservingCapacity strings: Int = 0, bytes: Int = 0) {
        buffer = Buffer(strings: max(strings, 16), bytes: max(bytes, 64))
    }

    var count: Int { buffer.count }

    /// The bytes of string `index`.
    subscript(index: Int) -> ArraySlice<UInt8> {
        precondition(index >= 0 && index < count, "string index out of range")
        let start = buffer.starts[index], end = buffer.starts[index + 1]
        return ArraySlice(UnsafeBufferPointer(start: buffer.bytes + start, count: end - start))
    }

    /// The length in bytes of string `index`.
    func length(of index: Int) -> Int {
        precondition(index >= 0 && index < count, "string index out of range")
        return buffer.starts[index + 1] - buffer.starts[index]
    }

    /// Appends `bytes` as a new string and returns its position; `find` then returns it or an
    /// earlier equal string according to `duplicates`.
    @discardableResult
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>, duplicates: DuplicatePolicy) -> Int {
        let empty = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
        let hash = Self.hash(bytes, empty)
        let slot = buffer.probe(bytes, empty, hash: hash)
        return append(bytes, empty, hash: hash, slot: slot, duplicates: duplicates)
    }

    mutating func append(_ bytes: [UInt8], duplicates: DuplicatePolicy) {
        bytes.withUnsafeBufferPointer { _ = append($0, duplicates: duplicates) }
    }

    /// The position of the string equal to `bytes`, appending it first when absent.
    mutating func intern(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        intern(bytes, UnsafeBufferPointer(start: nil, count: 0))
    }

    /// The position of the string `first` + `second` (concatenated), appending it when absent.
    mutating func intern(_ first: UnsafeBufferPointer<UInt8>, _ second: UnsafeBufferPointer<UInt8>) -> Int {
        let hash = Self.hash(first, second)
        let slot = buffer.probe(first, second, hash: hash)
        if let found = buffer.index(inSlot: slot) { return found }
        return append(first, second, hash: hash, slot: slot, duplicates: .keepFirst)
    }

    /// The position of the string equal to `bytes`, if any.
    func find(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        let empty = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
        return buffer.index(inSlot: buffer.probe(bytes, empty, hash: Self.hash(bytes, empty)))
    }

    func find(_ bytes: [UInt8]) -> Int? { bytes.withUnsafeBufferPointer { find($0) } }

    private mutating func append(
        _ first: UnsafeBufferPointer<UInt8>, _ second: UnsafeBufferPointer<UInt8>, hash: UInt32, slot: Int,
        duplicates: DuplicatePolicy
    ) -> Int {
        if !isKnownUniquelyReferenced(&buffer) { buffer = buffer.copy() }
        let index = buffer.count
        buffer.appendString(first, second)
        if buffer.index(inSlot: slot) == nil {
            buffer.slots[slot] = Buffer.slotValue(index: index, hash: hash)
            buffer.growIndexIfNeeded()
        } else if duplicates == .keepLast {
            buffer.slots[slot] = Buffer.slotValue(index: index, hash: hash)
        }
        return index
    }

    /// FNV-1a over `first` then `second`: cheap, and good enough for short token texts.
    static func hash(_ first: UnsafeBufferPointer<UInt8>, _ second: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for part in 0 ..< 2 {
            let bytes = part == 0 ? first : second
            guard let base = bytes.baseAddress else { continue }
            var i = 0
            while i < bytes.count {
                hash = (hash ^ UInt32(base[i])) &* 16_777_619
                i += 1
            }
        }
        return hash
    }

    /// The memory: string bytes back to back, where each string starts, and an open-addressing
    /// index (linear probing, at most half full) of positions. A slot holds the string's hash
    /// beside its position, so probing past other strings rarely touches their bytes: lookups
    /// in a 150k-string table are bound by cache misses, not arithmetic.
    private final class Buffer: @unchecked Sendable {
        // Mutated only while uniquely referenced (copy-on-write above), so sharing is safe.
        var bytes: UnsafeMutablePointer<UInt8>
        var byteCount = 0
        var byteCapacity: Int
        /// String `i` is `bytes[starts[i] ..< starts[i + 1]]`.
        var starts: UnsafeMutablePointer<Int>
        var count = 0
        var capacity: Int
        /// hash << 32 | (position + 1); 0 = empty.
        var slots: UnsafeMutablePointer<UInt64>
        var slotCount: Int

        init(strings: Int, bytes byteCapacity: Int) {
            capacity = strings
            self.byteCapacity = byteCapacity
            bytes = .allocate(capacity: byteCapacity)
            starts = .allocate(capacity: strings + 1)
            starts[0] = 0
            slotCount = 16
            while slotCount < strings * 2 { slotCount <<= 1 }
            slots = .allocate(capacity: slotCount)
            slots.initialize(repeating: 0, count: slotCount)
        }

        deinit {
            bytes.deallocate()
            starts.deallocate()
            slots.deallocate()
        }

        static func slotValue(index: Int, hash: UInt32) -> UInt64 { UInt64(hash) << 32 | UInt64(index + 1) }

        func index(inSlot slot: Int) -> Int? {
            let value = slots[slot]
            return value == 0 ? nil : Int(truncatingIfNeeded: value & 0xFFFF_FFFF) - 1
        }

        func copy() -> Buffer {
            let copy = Buffer(strings: capacity, bytes: byteCapacity)
            copy.bytes.update(from: bytes, count: byteCount)
            copy.byteCount = byteCount
            copy.starts.update(from: starts, count: count + 1)
            copy.count = count
            copy.slots.deallocate()
            copy.slotCount = slotCount
            copy.slots = .allocate(capacity: slotCount)
            copy.slots.initialize(from: slots, count: slotCount)
            return copy
        }

        /// The slot holding `first` + `second`, or the empty slot where it would go.
        func probe(_ first: UnsafeBufferPointer<UInt8>, _ second: UnsafeBufferPointer<UInt8>, hash: UInt32) -> Int {
            // Locals: each read of a class property is an exclusivity check in debug builds.
            let slots = self.slots, starts = self.starts, bytes = self.bytes
            let mask = slotCount - 1
            let length = first.count + second.count
            var slot = Int(hash) & mask
            while true {
                let value = slots[slot]
                if value == 0 { return slot }
                let index = Int(truncatingIfNeeded: value & 0xFFFF_FFFF) - 1
                if UInt32(truncatingIfNeeded: value >> 32) == hash && starts[index + 1] - starts[index] == length {
                    let at = bytes + starts[index]
                    if equal(at, first) && equal(at + first.count, second) { return slot }
                }
                slot = (slot + 1) & mask
            }
        }

        private func equal(_ stored: UnsafeMutablePointer<UInt8>, _ part: UnsafeBufferPointer<UInt8>) -> Bool {
            guard let base = part.baseAddress else { return true }
            var i = 0
            while i < part.count {
                if stored[i] != base[i] { return false }
                i += 1
            }
            return true
        }

        func appendString(_ first: UnsafeBufferPointer<UInt8>, _ second: UnsafeBufferPointer<UInt8>) {
            let length = first.count + second.count
            if byteCount + length > byteCapacity {
                var newCapacity = byteCapacity * 2
                while newCapacity < byteCount + length { newCapacity *= 2 }
                let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
                grown.update(from: bytes, count: byteCount)
                bytes.deallocate()
                bytes = grown
                byteCapacity = newCapacity
            }
            if let base = first.baseAddress { (bytes + byteCount).update(from: base, count: first.count) }
            if let base = second.baseAddress { (bytes + byteCount + first.count).update(from: base, count: second.count) }
            byteCount += length
            if count == capacity {
                let newCapacity = capacity * 2
                let grownStarts = UnsafeMutablePointer<Int>.allocate(capacity: newCapacity + 1)
                grownStarts.update(from: starts, count: count + 1)
                starts.deallocate()
                starts = grownStarts
                capacity = newCapacity
            }
            count += 1
            starts[count] = byteCount
        }

        /// Keeps the index at most half full so probes stay short.
        func growIndexIfNeeded() {
            guard count * 2 > slotCount else { return }
            let newCount = slotCount * 2, mask = newCount - 1
            let grown = UnsafeMutablePointer<UInt64>.allocate(capacity: newCount)
            grown.initialize(repeating: 0, count: newCount)
            // Each string keeps whichever duplicate the old index pointed at.
            for old in 0 ..< slotCount where slots[old] != 0 {
                var slot = Int(truncatingIfNeeded: slots[old] >> 32) & mask
                while grown[slot] != 0 { slot = (slot + 1) & mask }
                grown[slot] = slots[old]
            }
            slots.deallocate()
            slots = grown
            slotCount = newCount
        }
    }
}
