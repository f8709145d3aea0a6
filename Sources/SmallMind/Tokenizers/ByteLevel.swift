// GPT-2's byte-to-unicode mapping: byte-level BPE vocabularies spell every byte as one printable
// character so token texts never hold raw control bytes or spaces. Printable Latin-1 bytes
// ('!'...'~', '¡'...'¬', '®'...'ÿ') stand for themselves; the other 68 bytes, in order, become
// U+0100, U+0101, … (so ' ' is 'Ġ' U+0120 and '\n' is 'Ċ' U+010A).

enum ByteLevel {
    /// The character standing for each byte.
    static let scalarOfByte: [UInt32] = {
        var scalars = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0 ..< 256 {
            let printable = (0x21 ... 0x7E).contains(byte) || (0xA1 ... 0xAC).contains(byte) || (0xAE ... 0xFF).contains(byte)
            if printable {
                scalars[byte] = UInt32(byte)
            } else {
                scalars[byte] = next
                next += 1
            }
        }
        return scalars
    }()

    /// The UTF-8 spelling of each byte's character (one or two bytes).
    static let utf8OfByte: [[UInt8]] = scalarOfByte.map { Array(String(Unicode.Scalar($0)!).utf8) }

    /// For characters below U+0144, the byte they stand for (or -1).
    static let byteOfScalar: [Int16] = {
        var bytes = [Int16](repeating: -1, count: 0x144)
        for (byte, scalar) in scalarOfByte.enumerated() { bytes[Int(scalar)] = Int16(byte) }
        return bytes
    }()

    /// The bytes a token text stands for. Characters outside the mapping (in added tokens) are
    /// kept as their own UTF-8.
    static func decode(_ text: ArraySlice<UInt8>) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count)
        var i = text.startIndex
        while i < text.endIndex {
            let lead = text[i]
            // Only one- and two-byte characters can be in the mapping (all are below U+0800).
            if lead < 0x80 {
                let mapped = byteOfScalar[Int(lead)]
                bytes.append(mapped >= 0 ? UInt8(mapped) : lead)
                i += 1
            } else if lead & 0xE0 == 0xC0, i + 1 < text.endIndex {
                let scalar = Int(lead & 0x1F) << 6 | Int(text[i + 1] & 0x3F)
                if scalar < byteOfScalar.count && byteOfScalar[scalar] >= 0 {
                    bytes.append(UInt8(byteOfScalar[scalar]))
                } else {
                    bytes += text[i ... i + 1]
                }
                i += 2
            } else {
                bytes.append(lead)
                i += 1
            }
        }
        return bytes
    }
}
