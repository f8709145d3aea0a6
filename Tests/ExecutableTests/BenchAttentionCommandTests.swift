// `smallmind bench-attention`: runs both attention kernels on the same keys and values and reports
// their speeds; its own check (the outputs bit-identical) passes on every shape and type asked.
import Foundation
import Testing

@Suite("smallmind bench-attention", .enabled(if: BuildProducts.executable("smallmind") != nil, Comment(rawValue: BuildProducts.missing)))
struct BenchAttentionCommandTests {
    let smallmind = BuildProducts.executable("smallmind") ?? ""

    @Test(arguments: [("f32", "16"), ("f16", "5"), ("f32", "1")])
    func reportsBothKernelsOnEveryShape(type: String, blockSize: String) async throws {
        // Positions that end inside a block, a head size with an 8-wide and a scalar tail.
        let result = try await run(smallmind, [
            "bench-attention", "--positions", "1,37,100", "--sequences", "3", "--heads", "2", "--head-size", "44",
            "--block-size", blockSize, "--kv-cache-type", type, "--repetitions", "2", "--json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(rows.map { $0["positions"] as? Int } == [1, 37, 100])
        for row in rows {
            #expect(row["type"] as? String == type)
            #expect(row["blockSize"] as? Int == Int(blockSize))
            for key in ["contiguousSeconds", "pagedSeconds", "contiguousGBps", "pagedGBps", "ratio"] {
                let value = try #require(row[key] as? Double, "\(key) missing")
                #expect(value > 0 && value.isFinite, "\(key) = \(value)")
            }
        }
    }

    @Test(arguments: [
        (["bench-attention", "--block-size", "0"], "error: --block-size must be from 1 to 4096, got 0\n"),
        (["bench-attention", "--kv-cache-type", "q8"], "error: --kv-cache-type must be f32 or f16, got 'q8'\n"),
        (["bench-attention", "--positions", "64,x"], nil),
    ] as [([String], String?)])
    func nonsenseIsAUsageError(arguments: [String], stderr: String?) async throws {
        let result = try await run(smallmind, arguments)
        #expect(result.status == 64, "\(result.stderr)")
        if let stderr { #expect(result.stderr == stderr) } else { #expect(result.stderr.hasPrefix("error: --positions")) }
        #expect(result.stdout.isEmpty)
    }
}
