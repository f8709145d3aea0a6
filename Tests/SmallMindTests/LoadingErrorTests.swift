import Foundation
import Testing
@testable import SmallMind

/// Malformed files end in a thrown error naming the file and what was wrong — never a crash.
struct LoadingErrorTests {
    @Test func aValidCheckpointLoads() throws {
        let model = try TestModels.smallLlama()
        #expect(model.configuration.keyValueHeadCount == 2)
        #expect(model.configuration.vocabularySize == 12)
    }

    @Test func truncatedCheckpoint() throws {
        let path = try TestModels.llama2cCheckpoint(truncateBy: 100)
        let error = try #require(throws: LoadingError.self) { try Llama2cCheckpoint.load(path: path) }
        guard case let .sizeMismatch(file, expected, actual, _) = error else { Issue.record("\(error)"); return }
        #expect(file == path && expected - actual == 100)
        #expect(error.description.contains("truncated"))
    }

    @Test func headerOnlyHalfThere() throws {
        let path = try TestModels.write(Data([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), name: "short")
        let error = try #require(throws: LoadingError.self) { try Llama2cCheckpoint.load(path: path) }
        #expect(error.description.contains("n_layers") && error.description.contains("offset 8"))
    }

    @Test(arguments: [
        ("dim", Int32(0)), ("dim", -8), ("n_layers", 0), ("n_heads", 3), ("n_kv_heads", 3), ("seq_len", 0),
        ("dim", Int32.max), ("vocab_size", Int32.min), ("seq_len", Int32.max), ("hidden_dim", -1),
    ])
    func impossibleHeader(field: String, value: Int32) throws {
        var dims: [String: Int32] = ["dim": 16, "hidden_dim": 32, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "vocab_size": 12, "seq_len": 16]
        dims[field] = value
        var data = Data()
        for key in ["dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"] {
            withUnsafeBytes(of: dims[key]!.littleEndian) { data.append(contentsOf: $0) }
        }
        data.append(Data(count: 4096))
        let path = try TestModels.write(data, name: "header")
        let error = try #require(throws: LoadingError.self) { try Llama2cCheckpoint.load(path: path) }
        if case .invalidField(_, let named, _, _) = error {
            // A bad n_heads may first show up as a bad n_kv_heads, a bad dim as a bad n_heads.
            let acceptable: Set<String> = [field, field == "n_heads" ? "n_kv_heads" : field, field == "dim" ? "n_heads" : field]
            #expect(acceptable.contains(named), "\(named) for \(field)")
        } else {
            #expect(Bool(false), "expected an invalid-field error for \(field), got \(error)")
        }
    }

    @Test func missingFileAndDirectory() {
        #expect(throws: LoadingError.self) { try Llama2cCheckpoint.load(path: "/nonexistent/model.bin") }
        #expect(throws: LoadingError.self) { try Llama2cCheckpoint.load(path: "/tmp") }
        #expect(throws: LoadingError.self) { try MappedFile(path: "/nonexistent") }
    }

    @Test func tokenizerCutShort() throws {
        let path = try TestModels.tokenizerFile(truncateBy: 3)
        let error = try #require(throws: LoadingError.self) { try SentencePieceTokenizer.load(llama2cPath: path, vocabularySize: 12) }
        guard case let .truncated(_, field, _, _, _) = error else { Issue.record("\(error)"); return }
        #expect(field.contains("token 11"))
    }

    @Test func tokenizerSmallerThanTheModel() throws {
        let path = try TestModels.tokenizerFile(count: 8)
        #expect(throws: LoadingError.self) { try SentencePieceTokenizer.load(llama2cPath: path, vocabularySize: 12) }
    }

    @Test func checkpointWithoutTokenizerIsAClearError() throws {
        let error = try #require(throws: LoadingError.self) { try Model.load(path: try TestModels.llama2cCheckpoint(), tokenizerPath: nil) }
        #expect(error.description.contains("--tokenizer"))
    }
}
