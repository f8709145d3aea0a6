// GGUF container reader (versions 2 and 3), memory-mapped. Byte layout, all little-endian:
//
//   u32  magic "GGUF" (bytes 47 47 55 46)
//   u32  version                      2 or 3
//   u64  tensor_count
//   u64  metadata_kv_count
//   metadata_kv_count × { string key, u32 value_type, value }
//   tensor_count × { string name, u32 n_dims (≤ 4), u64 dims[n_dims] (innermost first),
//                    u32 ggml_type, u64 offset (relative to the data section, aligned) }
//   padding to `general.alignment` (default 32)
//   data section: the tensors
//
//   string = u64 length + UTF-8 bytes (no terminator)
//   value  = by value_type: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool (u8), 8 string,
//            9 array { u32 element_type, u64 count, count × value }, 10 u64, 11 i64, 12 f64
//
// Every count, length, shape and offset is checked against the file before it is used: a
// malformed file throws a `LoadingError` naming the field and the offset, and no allocation is
// sized by a number the file has not yet backed with bytes.

/// A metadata value.
public enum GGUFValue: Sendable, Equatable {
    case int(Int64)
    case unsigned(UInt64)
    case float(Double)
    case bool(Bool)
    case string(String)
    case array([GGUFValue])

    public var intValue: Int? {
        switch self {
        case let .int(v): return Int(exactly: v)
        case let .unsigned(v): return Int(exactly: v)
        case let .float(v): return Int(exactly: v)
        case let .bool(v): return v ? 1 : 0
        default: return nil
        }
    }

    public var floatValue: Double? {
        switch self {
        case let .float(v): return v
        case let .int(v): return Double(v)
        case let .unsigned(v): return Double(v)
        default: return nil
        }
    }

    public var boolValue: Bool? {
        if case let .bool(v) = self { return v }
        return intValue.map { $0 != 0 }
    }

    public var stringValue: String? {
        if case let .string(v) = self { return v }
        return nil
    }

    public var arrayValue: [GGUFValue]? {
        if case let .array(v) = self { return v }
        return nil
    }
}

/// ggml tensor element types: how many elements a block holds and how many bytes it takes.
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq4_nl = 20
    case iq4_xs = 23
    case bf16 = 30

    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1: return 32
        case .iq4_nl: return 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K: return 256
        case .iq4_xs: return 256
        }
    }

    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q8_1: return 36
        case .q2_K: return 84
        case .q3_K: return 110
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        case .q8_K: return 292
        case .iq4_nl: return 18
        case .iq4_xs: return 136
        }
    }

    public var name: String { String(describing: self).uppercased() }
}

/// A tensor's description and its bytes inside the mapped file.
public struct GGUFTensorInfo: Sendable {
    public let name: String
    /// Dimensions innermost first, as GGUF stores them: a (rows, columns) matrix is [columns, rows].
    public let dimensions: [Int]
    public let type: GGMLType
    /// Offset of the tensor's bytes from the start of the file.
    public let fileOffset: Int
    public let byteCount: Int

    public var elementCount: Int { dimensions.reduce(1, *) }
}

/// A parsed, memory-mapped GGUF file.
public final class GGUFFile: Sendable {
    public let path: String
    public let version: Int
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order (for display).
    public let metadataKeys: [String]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    public let mapping: MappedFile

    /// Whether the file at `path` starts with the GGUF magic.
    public static func isGGUF(path: String) -> Bool {
        guard let file = try? MappedFile(path: path), file.count >= 4 else { return false }
        return file.bytes.loadUnaligned(as: UInt32.self) == magic
    }

    static let magic: UInt32 = 0x4655_4747  // "GGUF" read as a little-endian u32

    public init(path: String) throws(LoadingError) {
        self.path = path
        mapping = try MappedFile(path: path)
        var reader = ByteReader(mapping.bytes, file: path)
        let foundMagic = try reader.uint32("magic")
        guard foundMagic == Self.magic else {
            throw .invalidField(file: path, field: "magic", value: String(foundMagic, radix: 16), reason: "not a GGUF file (expected the bytes 'GGUF')")
        }
        let version = Int(try reader.uint32("version"))
        guard version == 2 || version == 3 else {
            throw .unsupported(file: path, what: "GGUF version \(version) (supported: 2, 3)")
        }
        self.version = version
        let tensorCount = try reader.count("tensor_count", minimumBytesEach: 24)
        let metadataCount = try reader.count("metadata_kv_count", minimumBytesEach: 12)

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        for i in 0..<metadataCount {
            let at = reader.offset
            let key = try reader.ggufString("metadata key #\(i)")
            let type = try reader.uint32("type of \(key)")
            // A repeated key would make the file mean whichever copy a reader keeps (llama.cpp
            // rejects it too).
            guard metadata.updateValue(try reader.ggufValue(type: type, field: key, depth: 0), forKey: key) == nil else {
                throw .invalidField(file: path, field: key, value: "repeated", reason: "a metadata key appears twice (again at offset \(at))")
            }
            keys.append(key)
        }
        self.metadata = metadata
        metadataKeys = keys

        let alignment = metadata["general.alignment"]?.intValue ?? 32
        guard alignment > 0 && alignment <= 1 << 20 && alignment & (alignment - 1) == 0 else {
            throw .invalidField(file: path, field: "general.alignment", value: String(alignment), reason: "must be a power of two")
        }
        self.alignment = alignment

        var infos: [(name: String, dims: [Int], type: GGMLType, offset: Int, at: Int)] = []
        var names = Set<String>()
        for i in 0..<tensorCount {
            let at = reader.offset
            let name = try reader.ggufString("tensor #\(i) name")
            let dimensionCount = Int(try reader.uint32("\(name) n_dims"))
            guard (1...4).contains(dimensionCount) else {
                throw .invalidField(file: path, field: "\(name) n_dims", value: String(dimensionCount), reason: "must be 1...4 (at offset \(at))")
            }
            var dims: [Int] = []
            for d in 0..<dimensionCount {
                let size = try reader.uint64("\(name) dims[\(d)]")
                guard size > 0 && size <= 1 << 32 else {
                    throw .invalidField(file: path, field: "\(name) dims[\(d)]", value: String(size), reason: "must be in 1...2^32")
                }
                dims.append(Int(size))
            }
            let rawType = try reader.uint32("\(name) type")
            guard let type = GGMLType(rawValue: rawType) else {
                throw .unsupported(file: path, what: "tensor type \(rawType) of \(name) (known: \(GGMLType.allCases.map(\.name).joined(separator: ", ")))")
            }
            let offset = try reader.uint64("\(name) offset")
            guard offset <= UInt64(mapping.count) else {
                throw .invalidField(file: path, field: "\(name) offset", value: String(offset), reason: "beyond the end of the file (\(mapping.count) bytes)")
            }
            guard names.insert(name).inserted else {
                throw .invalidField(file: path, field: "tensor \(name)", value: "repeated", reason: "a tensor name appears twice (again at offset \(at))")
            }
            infos.append((name, dims, type, Int(offset), at))
        }
        let dataStart = (reader.offset + alignment - 1) / alignment * alignment
        var tensors: [GGUFTensorInfo] = []
        for info in infos {
            let (elements, overflow) = info.dims.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d)
                return (p, acc.1 || o)
            }
            guard !overflow, elements % info.type.blockSize == 0, info.dims[0] % info.type.blockSize == 0 else {
                throw .invalidField(file: path, field: "\(info.name) dims", value: "\(info.dims)", reason: "not a whole number of \(info.type.name) blocks of \(info.type.blockSize)")
            }
            let bytes = elements / info.type.blockSize * info.type.blockBytes
            let start = dataStart + info.offset
            guard info.offset % alignment == 0 else {
                throw .invalidField(file: path, field: "\(info.name) offset", value: String(info.offset), reason: "not aligned to \(alignment)")
            }
            guard start <= mapping.count && bytes <= mapping.count - start else {
                throw .truncated(file: path, field: "tensor \(info.name) data", offset: start, needed: bytes, available: max(0, mapping.count - start))
            }
            tensors.append(GGUFTensorInfo(name: info.name, dimensions: info.dims, type: info.type, fileOffset: start, byteCount: bytes))
        }
        self.tensors = tensors
    }

    public func tensor(named name: String) -> GGUFTensorInfo? { tensors.first { $0.name == name } }

    /// Pointer to a tensor's bytes inside the mapping.
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawPointer { mapping.bytes.baseAddress! + tensor.fileOffset }
}

extension ByteReader {
    mutating func uint32(_ field: String) throws(LoadingError) -> UInt32 {
        try require(4, for: field)
        defer { offset += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    mutating func uint64(_ field: String) throws(LoadingError) -> UInt64 {
        try require(8, for: field)
        defer { offset += 8 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// A u64 count, rejected unless the rest of the file could hold that many items of at least
    /// `minimumBytesEach` bytes — so a corrupt count can never size an allocation.
    mutating func count(_ field: String, minimumBytesEach: Int) throws(LoadingError) -> Int {
        let at = offset
        let value = try uint64(field)
        guard value <= UInt64(remaining / max(minimumBytesEach, 1)) else {
            throw .invalidField(file: file, field: field, value: String(value), reason: "more than the \(remaining) bytes left after offset \(at) can hold")
        }
        return Int(value)
    }

    mutating func ggufString(_ field: String) throws(LoadingError) -> String {
        let length = try count("length of \(field)", minimumBytesEach: 1)
        return String(decoding: try self.bytes(length, field), as: UTF8.self)
    }

    mutating func ggufValue(type: UInt32, field: String, depth: Int) throws(LoadingError) -> GGUFValue {
        func scalar<T: FixedWidthInteger>(_: T.Type) throws(LoadingError) -> T {
            try require(MemoryLayout<T>.size, for: field)
            defer { offset += MemoryLayout<T>.size }
            return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        switch type {
        case 0: return .unsigned(UInt64(try scalar(UInt8.self)))
        case 1: return .int(Int64(try scalar(Int8.self)))
        case 2: return .unsigned(UInt64(try scalar(UInt16.self)))
        case 3: return .int(Int64(try scalar(Int16.self)))
        case 4: return .unsigned(UInt64(try scalar(UInt32.self)))
        case 5: return .int(Int64(try scalar(Int32.self)))
        case 6: return .float(Double(Float(bitPattern: try scalar(UInt32.self))))
        case 7: return .bool(try scalar(UInt8.self) != 0)
        case 8: return .string(try ggufString(field))
        case 9:
            guard depth < 4 else {
                throw .invalidField(file: file, field: field, value: "array", reason: "arrays nested deeper than 4 at offset \(offset)")
            }
            let elementType = try uint32("\(field) element type")
            let minimum = [0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 8: 8, 9: 12, 10: 8, 11: 8, 12: 8][Int(elementType)] ?? 1
            let n = try count("\(field) array length", minimumBytesEach: minimum)
            var values: [GGUFValue] = []
            values.reserveCapacity(n)
            for _ in 0..<n { values.append(try ggufValue(type: elementType, field: field, depth: depth + 1)) }
            return .array(values)
        case 10: return .unsigned(try scalar(UInt64.self))
        case 11: return .int(try scalar(Int64.self))
        case 12: return .float(Double(bitPattern: try scalar(UInt64.self)))
        default:
            throw .invalidField(file: file, field: field, value: String(type), reason: "unknown metadata value type at offset \(offset - 4)")
        }
    }
}
