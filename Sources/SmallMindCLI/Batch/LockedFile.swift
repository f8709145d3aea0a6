// A file held under an exclusive advisory lock (flock), so that two `smallmind batch` processes
// given the same --output cannot interleave their lines: the second one refuses at once.
//
// The file is sometimes replaced whole (a new file renamed over it, so that a kill leaves the old
// contents or the new, never half of each). A lock belongs to the file, not to its name, so the
// replacement is locked before it is renamed into place, and whoever opens the name checks, once
// locked, that the name still leads to the file it locked.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// An open, exclusively locked file. Not thread-safe: its owner serialises access.
final class LockedFile {
    let path: String
    private(set) var descriptor: Int32

    /// Opens (creating it if need be) and locks the file at `path`; throws at once if another
    /// process holds it.
    init(path: String) throws {
        self.path = path
        for _ in 0..<100 {
            let fd = try Self.openAndLock(path, flags: O_RDWR | O_CREAT)
            if Self.isCurrent(fd, at: path) {
                descriptor = fd
                return
            }
            close(fd)  // renamed over while we waited for the lock: open the file the name leads to now
        }
        throw CommandFailure(message: "\(path): the file keeps being replaced while opening it; is another program writing it?")
    }

    deinit { close(descriptor) }

    /// The whole file.
    func readAll() throws -> Data {
        guard lseek(descriptor, 0, SEEK_SET) >= 0 else { throw failure("cannot read") }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw failure("cannot read") }
            if count == 0 { return data }
            data.append(contentsOf: buffer[0..<count])
        }
    }

    /// Appends `data`. Unbuffered: once this returns, the bytes survive a kill of this process.
    func append(_ data: Data) throws {
        guard lseek(descriptor, 0, SEEK_END) >= 0 else { throw failure("cannot write") }
        try Self.writeAll(descriptor, data, path: path)
    }

    /// Replaces the file's contents with `data` atomically: a kill during this leaves the old
    /// contents or the new. The lock carries over to the new file.
    func replaceContents(with data: Data) throws {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp").path
        let fd = try Self.openAndLock(temporary, flags: O_RDWR | O_CREAT | O_TRUNC)
        do {
            try Self.writeAll(fd, data, path: temporary)
            guard rename(temporary, path) == 0 else { throw failure("cannot replace the file") }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(descriptor)
        descriptor = fd
    }

    /// Empties the file.
    func truncate() throws {
        guard ftruncate(descriptor, 0) == 0 else { throw failure("cannot empty the file") }
    }

    private func failure(_ what: String) -> CommandFailure {
        CommandFailure(message: "\(path): \(what): \(String(cString: strerror(errno)))")
    }

    private static func openAndLock(_ path: String, flags: Int32) throws -> Int32 {
        let fd = open(path, flags | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CommandFailure(message: "\(path): cannot open: \(String(cString: strerror(errno)))") }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let error = errno
            if error == EINTR { continue }
            close(fd)
            if error == EWOULDBLOCK {
                throw CommandFailure(message: "\(path) is in use by another smallmind batch; let it finish, or choose another --output")
            }
            throw CommandFailure(message: "\(path): cannot lock: \(String(cString: strerror(error)))")
        }
        return fd
    }

    /// Whether `fd` is the file that `path` names now.
    private static func isCurrent(_ fd: Int32, at path: String) -> Bool {
        var opened = stat(), named = stat()
        guard fstat(fd, &opened) == 0, stat(path, &named) == 0 else { return false }
        return opened.st_dev == named.st_dev && opened.st_ino == named.st_ino
    }

    private static func writeAll(_ fd: Int32, _ data: Data, path: String) throws {
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < bytes.count {
                let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { throw CommandFailure(message: "\(path): cannot write: \(String(cString: strerror(errno)))") }
                offset += written
            }
        }
    }
}
