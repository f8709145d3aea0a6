#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory. Model weights are used in place from the mapping, so
/// loading is instant and the pages are shared by every generation (and every process).
public final class MappedFile: WeightStorage, @unchecked Sendable {
    // @unchecked: the mapping is PROT_READ, never written, and unmapped only in deinit.
    public let path: String
    public let bytes: UnsafeRawBufferPointer

    public init(path: String) throws(LoadingError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .cannotOpen(file: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .cannotOpen(file: path, reason: String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .cannotOpen(file: path, reason: "not a regular file") }
        let size = Int(info.st_size)
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw .cannotOpen(file: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }

    public var count: Int { bytes.count }

    /// Tells the kernel this process no longer needs the whole pages inside `range` (a part of
    /// the mapping) resident: they leave its memory, and are read from the file again if touched.
    /// For weights copied elsewhere at load time (`InterleavedRows`).
    public func release(_ range: UnsafeRawBufferPointer) {
        guard let start = range.baseAddress, let base = bytes.baseAddress,
              start >= base, start + range.count <= base + bytes.count else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + range.count) / page * page
        guard end > first, let pointer = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(pointer, end - first, MADV_DONTNEED)
    }
}

/// A bounds-checked little-endian cursor over a byte buffer: every read names the field it is for,
/// so a short file produces an error that says exactly what was missing where.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let file: String
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer, file: String) {
        self.bytes = bytes
        self.file = file
    }

    var remaining: Int { bytes.count - offset }

    mutating func require(_ count: Int, for field: String) throws(LoadingError) {
        if count < 0 || count > remaining {
            throw .truncated(file: file, field: field, offset: offset, needed: count, available: remaining)
        }
    }

    mutating func int32(_ field: String) throws(LoadingError) -> Int32 {
        try require(4, for: field)
        defer { offset += 4 }
        return Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self))
    }

    mutating func float32(_ field: String) throws(LoadingError) -> Float {
        try require(4, for: field)
        defer { offset += 4 }
        return Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }

    mutating func bytes(_ count: Int, _ field: String) throws(LoadingError) -> UnsafeRawBufferPointer {
        try require(count, for: field)
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }
}
