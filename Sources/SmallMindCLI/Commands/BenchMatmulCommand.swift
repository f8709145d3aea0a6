// `smallmind bench-matmul`: one weight format's products alone, as the forward pass runs them.
import ArgumentParser
import Foundation
import SmallMind
import SmallMindKernels

public struct BenchMatmulCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench-matmul",
        abstract: "Measure the matmul kernels' GFLOP/s on transformer-shaped problems.",
        discussion: """
            Shapes are OUTxIN weight matrices (the stories110M shapes by default). --type picks the weight \
            format; encoded weights are multiplied as the forward pass multiplies them (activations \
            quantized once per product; rows regrouped for AVX-512 VNNI where the processor has it — \
            SMALLMIND_AVX512=0 turns that off). Compare float32 with numpy using scripts/kernel-bench.sh.
            """)

    @Option(help: "Comma-separated activation row counts (batch tokens).")
    public var rows: String = "1,8,32,128"

    @Option(help: "Comma-separated weight shapes OUTxIN.")
    public var shapes: String = "768x768,2048x768,768x2048,32000x768"

    @Option(help: "Weight format: \(WeightFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    public var type: String = "f32"

    @Option(parsing: .unconditional, help: "Timed repetitions; the median is reported.")
    public var repetitions: Int = 5

    @OptionGroup public var threadOptions: ThreadOptions

    @Flag(help: "Print JSON instead of a table.")
    public var json = false

    public init() {}

    /// The weight format --type names.
    var format: WeightFormat? { WeightFormat.allCases.first { $0.rawValue.lowercased() == type.lowercased() } }

    /// --shapes as (OUT, IN) pairs, checked against the format's block size.
    func parsedShapes() throws -> [(Int, Int)] {
        let parsed = try shapes.split(separator: ",", omittingEmptySubsequences: false).map { shape -> (Int, Int) in
            let parts = shape.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, parts.allSatisfy({ $0 >= 1 && $0 <= 1 << 16 }) else {
                throw ValidationError("--shapes wants OUTxIN pairs like 768x2048, got '\(shape)'")
            }
            return (parts[0], parts[1])
        }
        if let format, let bad = parsed.first(where: { $0.1 % format.blockElements != 0 }) {
            throw ValidationError("--shapes: \(format.displayName) rows hold whole blocks of \(format.blockElements); IN = \(bad.1) is not a multiple")
        }
        return parsed
    }

    public func validate() throws {
        _ = try CommandLineValues.positiveList(rows, name: "--rows")
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be 1 or more, got \(repetitions)") }
        guard format != nil else {
            throw ValidationError("--type '\(type)' is not one of \(WeightFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        _ = try parsedShapes()
    }

    public func run() async throws {
        do {
            let rowCounts = try CommandLineValues.positiveList(rows, name: "--rows")
            let parsed = try parsedShapes()
            let format = self.format!
            let threads = threadOptions.count
            let pool = ThreadPool(threads: threads)
            var results: [MatmulBenchmarkResult] = []
            if !json { StandardStreams.out("rows  shape          ms        GFLOP/s   (\(format.displayName), threads: \(threads))\n") }
            for (outDim, inDim) in parsed {
                for r in rowCounts {
                    let result = MatmulBenchmark.run(
                        rows: r, outDim: outDim, inDim: inDim, pool: pool, repetitions: repetitions, type: format)
                    results.append(result)
                    if !json {
                        StandardStreams.out(String(format: "%4d  %5dx%-6d %9.3f %9.1f\n", r, outDim, inDim, result.seconds * 1000, result.gflops))
                    }
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
