// `smallmind bench-attention`: the paged cache's attention kernel against the contiguous one.
import ArgumentParser
import Foundation
import SmallMind
import SmallMindKernels

public struct BenchAttentionCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench-attention",
        abstract: "Measure decode attention over a paged KV cache against a contiguous one.",
        discussion: """
            One decode step's attention: every sequence's every head over all its positions, once \
            with each head's keys and values contiguous (the layout before the paged cache) and once \
            in blocks scattered over a pool (a seeded shuffle, as a pool looks after requests have \
            come and gone), on the same values, alternating run by run in one process. Reports the \
            median time of each, the keys and values read per second, and paged / contiguous speed; \
            fails if the two outputs are not bit-identical. The default shape is the stories110M one \
            (12 heads of 64).
            """)

    @Option(help: "Comma-separated positions per sequence, 1 to 4096 each.")
    public var positions: String = "64,512,2048"

    @Option(parsing: .unconditional, help: "Sequences attended in one step.")
    public var sequences: Int = 32

    @Option(parsing: .unconditional, help: "Key-value heads per sequence.")
    public var heads: Int = 12

    @Option(name: .customLong("head-size"), parsing: .unconditional, help: "Elements per head.")
    public var headSize: Int = 64

    @Option(name: .customLong("block-size"), parsing: .unconditional, help: "Positions per block of the paged cache.")
    public var blockSize: Int = KVCache.defaultBlockSize

    @Option(name: .customLong("kv-cache-type"), help: "How keys and values are stored: f32 or f16.")
    public var kvCacheType: String = "f32"

    @Option(parsing: .unconditional, help: "Timed passes of each kernel; the medians are reported.")
    public var repetitions: Int = 11

    @OptionGroup public var threadOptions: ThreadOptions

    @Flag(help: "Print JSON instead of a table.")
    public var json = false

    public init() {}

    public func validate() throws {
        let list = try CommandLineValues.positiveList(positions, name: "--positions")
        guard (1...4096).contains(sequences) else { throw ValidationError("--sequences must be from 1 to 4096, got \(sequences)") }
        guard (1...256).contains(heads) else { throw ValidationError("--heads must be from 1 to 256, got \(heads)") }
        guard (1...1024).contains(headSize) else { throw ValidationError("--head-size must be from 1 to 1024, got \(headSize)") }
        guard (1...4096).contains(blockSize) else { throw ValidationError("--block-size must be from 1 to 4096, got \(blockSize)") }
        guard KVCache.ElementType(rawValue: kvCacheType) != nil else {
            throw ValidationError("--kv-cache-type must be f32 or f16, got '\(kvCacheType)'")
        }
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be 1 or more, got \(repetitions)") }
        let bytes = list.map { 4 * sequences * heads * headSize * $0 * KVCache.ElementType(rawValue: kvCacheType)!.byteSize }.max() ?? 0
        guard bytes <= 8 << 30 else {
            throw ValidationError("these shapes need \(bytes >> 20) MiB of keys and values (both layouts); at most 8 GiB")
        }
    }

    public func run() async throws {
        do {
            let type = KVCache.ElementType(rawValue: kvCacheType)!
            let pool = ThreadPool(threads: threadOptions.count)
            var results: [AttentionBenchmarkResult] = []
            if !json {
                StandardStreams.out("""
                    positions  contiguous ms   GB/s   paged ms   GB/s   paged/contiguous  (\(sequences) sequences × \(heads) heads \
                    of \(headSize), \(type.rawValue), blocks of \(blockSize), threads: \(pool.threadCount))

                    """)
            }
            for p in try CommandLineValues.positiveList(positions, name: "--positions") {
                let r = try AttentionBenchmark.run(
                    positions: p, sequences: sequences, heads: heads, headSize: headSize, blockSize: blockSize, type: type,
                    pool: pool, repetitions: repetitions)
                results.append(r)
                if !json {
                    StandardStreams.out(String(format: "%9d  %13.3f %6.1f %10.3f %6.1f   %8.3f\n", p, r.contiguousSeconds * 1000,
                                               r.contiguousGBps, r.pagedSeconds * 1000, r.pagedGBps, r.ratio))
                }
            }
            if json {
                try StandardStreams.json(results)
            }
        } catch {
            throw CommandFailure(error)
        }
    }
}
