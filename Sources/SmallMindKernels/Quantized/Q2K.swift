// Q2_K: super-blocks of 256 elements, 84 bytes (ggml's block_q2_K):
//
//   offset 0    u8   scales[16]  per 16 elements: scale in the low nibble, min in the high one
//   offset 16   u8   qs[64]      2-bit values: element 128n + 32j + l at bits 2j of qs[32n + l]
//   offset 80   f16  d           scale of the scales
//   offset 82   f16  dmin        scale of the mins
//
//   element i = (d · (scales[i/16] & 0xF)) · q − (dmin · (scales[i/16] >> 4))      (q in 0 ... 3)
//
// A 32-element decode group c (0..<8) is n = c / 4, j = c % 4: two sub-blocks of 16.

/// 2-bit super-blocks with 4-bit scales and mins per 16 elements.
enum Q2KDecoder: BlockDecoder {
    static var blockElements: Int { 256 }
    static var blockBytes: Int { 84 }

    @inline(__always)
    static func group<I: InstructionSet>(_ row: UnsafeRawPointer, _ g: Int, _: I.Type) -> DecodedGroup {
        let block = row + (g &>> 3) &* 84
        let c = g & 7
        let d = loadHalfScale(block + 80, I.self), dmin = loadHalfScale(block + 82, I.self)
        let first = block.load(fromByteOffset: 2 &* c, as: UInt8.self), second = block.load(fromByteOffset: 2 &* c &+ 1, as: UInt8.self)
        let d0 = d * Float(first & 0xF), m0 = dmin * Float(first >> 4)
        let d1 = d * Float(second & 0xF), m1 = dmin * Float(second >> 4)
        let qs = 16 &+ 32 &* (c &>> 2)
        let shift = Int32(truncatingIfNeeded: 2 &* (c & 3))
        @inline(__always) func eight(_ at: Int, _ dl: Float, _ ml: Float) -> SIMD8<Float> {
            let bytes = SIMD8<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: qs &+ at, as: SIMD8<UInt8>.self))
            // Product then difference, two roundings, as the reference.
            return SIMD8<Float>((bytes &>> shift) & 3) * dl - ml
        }
        return DecodedGroup(v0: eight(0, d0, m0), v1: eight(8, d0, m0), v2: eight(16, d1, m1), v3: eight(24, d1, m1))
    }

    /// Element i's 2-bit code.
    static func code(_ block: UnsafeRawPointer, _ i: Int) -> Int32 {
        let c = i / 32, l = i % 32
        return Int32((block.load(fromByteOffset: 16 + 32 * (c / 4) + l, as: UInt8.self) >> (2 * (c % 4))) & 3)
    }

    /// dequantize_row_q2_K.
    static func dequantizeReference(_ row: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        var y = out
        for i in 0..<count / 256 {
            let block = row + i * 84
            let d = Float(Float16(bitPattern: block.loadUnaligned(fromByteOffset: 80, as: UInt16.self)))
            let dmin = Float(Float16(bitPattern: block.loadUnaligned(fromByteOffset: 82, as: UInt16.self)))
            var q = block + 16
            var index = 0
            for _ in stride(from: 0, to: 256, by: 128) {
                var shift: UInt8 = 0
                for _ in 0..<4 {
                    for half in 0..<2 {
                        let sc = block.load(fromByteOffset: index, as: UInt8.self)
                        index += 1
                        let dl = d * Float(sc & 0xF), ml = dmin * Float(sc >> 4)
                        for l in 0..<16 { y[l] = dl * Float((q.load(fromByteOffset: 16 * half + l, as: UInt8.self) >> shift) & 3) - ml }
                        y += 16
                    }
                    shift += 2
                }
                q += 32
            }
        }
    }
}
