import Foundation
import Testing
@testable import SmallMind

@Suite(.enabled(if: SharedFiles.available, SharedFiles.skipReason))
struct ModelInspectionTests {
    @Test func describesAQ4KMFile() throws {
        let report = try ModelInspection.inspect(path: SharedFiles.model("kq-q4_k_m.gguf"))
        #expect(report.format == "GGUF v3" && report.architecture == "llama")
        #expect(report.tensorTypes.map(\.type) == ["Q4_K", "F32", "Q6_K"])
        #expect(report.tensorTypes.map(\.count) == [12, 5, 3])
        #expect(report.vocabularySize == 512 && report.tokenizerModel == "llama")
        #expect(report.weightBytes < 1_200_000 && report.parameterCount > 1_800_000)
    }

    @Test func describesGPT2AndLlama2cFiles() throws {
        let gpt2 = try ModelInspection.inspect(path: SharedFiles.model("gpt2-tiny-f16.gguf"))
        #expect(gpt2.architecture == "gpt2" && gpt2.vocabularySize == 50257 && gpt2.tokenizerModel == "gpt2")
        let llama2c = try ModelInspection.inspect(path: SharedFiles.model("stories260K.bin"))
        #expect(llama2c.format == "llama2.c checkpoint" && llama2c.configuration.layerCount == 5)
    }

    @Test func aFileOfNeitherFormatIsOneClearError() throws {
        do {
            _ = try ModelInspection.inspect(path: SharedFiles.model("tok512.bin"))
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("not GGUF") && error.description.contains("not a llama2.c checkpoint"))
            #expect(!error.description.contains("\n"))
        }
        #expect(throws: LoadingError.self) { try Model.load(path: SharedFiles.model("tok512.bin"), tokenizerPath: nil) }
    }

    @Test func modelLoadStillReadsLlama2cCheckpoints() throws {
        let model = try Model.load(path: SharedFiles.model("stories260K.bin"), tokenizerPath: SharedFiles.model("tok512.bin"))
        #expect(model.configuration.vocabularySize == 512)
    }

    @Test func gpt2GGUFLoadsWithItsByteLevelVocabulary() throws {
        let model = try Model.load(path: SharedFiles.model("gpt2-tiny-f16.gguf"), tokenizerPath: nil)
        #expect(model.configuration.architecture == .gpt2)
        #expect(model.tokenizer.vocabularySize == 50257)
        #expect(model.tokenizer.decode(try model.tokenizer.encode("Hello world", addBOS: false)) == "Hello world")
    }
}
