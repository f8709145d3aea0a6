// Software prefetch for the batched tiles of the interleaved kernels.
//
// A decode step of a few sequences (four to eight activation rows) does enough integer work per
// byte of weights that the hardware prefetcher falls behind: perf on Gemma 3 270M at B=8 put ~57 %
// of the Q8_0 kernel's samples on its weight loads. Asking for the weights a few kilobytes ahead
// keeps them arriving: Gemma B=8 generation +17 % (3 paired rounds; README, issue 12's table).
// Elsewhere it does not pay and is left off:
//   - one row (B=1) streams at the memory's speed already;
//   - larger batches (B=32, prefill) revisit each group from cache for three or more tiles, which
//     leaves the hardware prefetcher time; measured there: −4…+2 % generation, −7 % prefill.
// A hint changes no result: the arithmetic and its order are untouched.
#if os(Linux) && arch(x86_64)
import Glibc
import SmallMindPrefetch

enum Prefetch {
    /// Bytes ahead of the block being read that the tiles ask for: `SMALLMIND_PREFETCH` (0 turns it
    /// off; for measuring), else 4 096 — past the hardware prefetcher's reach, well inside L2.
    static let configuredDistance: Int = {
        guard let text = getenv("SMALLMIND_PREFETCH"), let value = Int(String(cString: text)), value >= 0 else { return 4096 }
        return value
    }()

    /// Activation rows up to which a product prefetches.
    static let maximumBatch = 8

    /// The distance a tile starting at activation row `firstRow` of `batch` uses: the first tile
    /// of a group asks (later tiles of the same group find the weights in cache), only for small
    /// batches; 0 means none.
    @inline(__always)
    static func distance(firstRow: Int, batch: Int) -> Int {
        firstRow == 0 && batch <= maximumBatch ? configuredDistance : 0
    }

    /// Asks for the `bytes` bytes that start `distance` past `block`, one request per cache line.
    @inline(__always)
    static func ahead(_ block: UnsafeRawPointer, bytes: Int, distance: Int) {
        guard distance > 0 else { return }
        var offset = 0
        while offset < bytes {
            smallmind_prefetch(block + (distance &+ offset))
            offset &+= 64
        }
    }
}
#endif
