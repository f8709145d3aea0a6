import Testing
@testable import SmallMind

struct GenerationTests {
    static let demo = Model.demo()

    @Test func demoModelMatchesTheSampleConfiguration() {
        let c = Self.demo.configuration
        #expect(c.architecture == .gpt2 && c.contextLength == 64 && c.embeddingSize == 128)
        #expect(c.layerCount == 2 && c.headCount == 4 && c.hiddenSize == 512)
        #expect(c.vocabularySize == 96 && Self.demo.tokenizer.vocabularySize == 96)
        // Seeded: two builds are the same model.
        let again = DemoModel.weights()
        let a = UnsafeBufferPointer(start: Self.demo.weights.tokenEmbedding.data.assumingMemoryBound(to: Float.self), count: 96 * 128)
        let b = UnsafeBufferPointer(start: again.tokenEmbedding.data.assumingMemoryBound(to: Float.self), count: 96 * 128)
        #expect(Array(a) == Array(b))
    }

    @Test func sameSeedSameTextDifferentSeedDifferentText() throws {
        let p = GenerationParameters(maxTokens: 30, temperature: 0.8, topK: 20, seed: 7)
        let first = try Self.demo.generate("The future of AI", p)
        let second = try Self.demo.generate("The future of AI", p)
        #expect(first.tokens == second.tokens && first.text == second.text)
        var other = p
        other.seed = 8
        #expect(try Self.demo.generate("The future of AI", other).tokens != first.tokens)
        #expect(first.text.hasPrefix("The future of AI"))
        #expect(first.completionTokenCount == 30 && first.finishReason == .length)
    }

    @Test func topKOneIsGreedy() throws {
        let greedy = try Self.demo.generate("Once upon a time", .greedy(maxTokens: 20))
        let topOne = try Self.demo.generate("Once upon a time", GenerationParameters(maxTokens: 20, temperature: 1.5, topK: 1, seed: 3))
        #expect(greedy.tokens == topOne.tokens)
    }

    @Test func contextLimitEndsWithLengthNotACrash() throws {
        // Demo context is 64: a 60-character prompt leaves room for 4 more positions + 1 sampled token.
        let prompt = String(repeating: "abc ", count: 15)
        let completion = try Self.demo.generate(prompt, GenerationParameters(maxTokens: 100, temperature: 0.8, seed: 1))
        #expect(completion.finishReason == .length)
        #expect(completion.promptTokenCount + completion.completionTokenCount == 65)
        let full = String(repeating: "x", count: 64)
        #expect(try Self.demo.generate(full, .greedy(maxTokens: 5)).completionTokenCount == 1)
    }

    @Test func tooLongPromptIsAClearError() {
        let error = #expect(throws: GenerationError.self) {
            try Self.demo.generate(String(repeating: "x", count: 65), .greedy(maxTokens: 5))
        }
        #expect(error == .promptTooLong(tokens: 65, contextLength: 64))
    }

    @Test func unknownCharacterIsReportedNotSkipped() {
        let error = #expect(throws: GenerationError.self) { try Self.demo.generate("Hello \u{E9} world", .greedy()) }
        guard case let .tokenizer(.unknownCharacter(character, offset, _)) = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
        #expect(character == "\u{E9}" && offset == 6)
        #expect(String(describing: error!).contains("unknown character '\u{E9}' (U+E9) at offset 6: the demo model knows printable ASCII"))
        #expect(throws: GenerationError.self) { try Self.demo.generate("", .greedy()) }
    }

    @Test(arguments: [
        GenerationParameters(maxTokens: -1), GenerationParameters(temperature: -1), GenerationParameters(temperature: .nan),
        GenerationParameters(topK: -3), GenerationParameters(topP: 0), GenerationParameters(topP: 1.5), GenerationParameters(stop: [""]),
    ])
    func nonsenseParametersAreRejected(parameters: GenerationParameters) {
        #expect(throws: GenerationError.self) { try Self.demo.generate("abc", parameters) }
    }

    @Test func zeroMaxTokensGeneratesNothing() throws {
        let completion = try Self.demo.generate("abc", .greedy(maxTokens: 0))
        #expect(completion.tokens.isEmpty && completion.text == "abc" && completion.finishReason == .length)
    }

    @Test func stopStringEndsGenerationAndIsNotIncluded() throws {
        let free = try Self.demo.generate("The quick brown fox", GenerationParameters(maxTokens: 40, temperature: 0.9, seed: 11))
        // Stop at a two-character string that occurs in the free-running continuation.
        let text = Array(free.continuation)
        let stop = String(text[10...11])
        var withStop = GenerationParameters(maxTokens: 40, temperature: 0.9, seed: 11)
        withStop.stop = [stop]
        let context = GenerationContext(model: Self.demo)
        var streamed = ""
        let stopped = try context.generate("The quick brown fox", parameters: withStop) { event in
            streamed += event.text
            return true
        }
        let cut = free.continuation.range(of: stop)!.lowerBound
        #expect(stopped.finishReason == .stopString)
        #expect(stopped.continuation == String(free.continuation[..<cut]))
        #expect(streamed == stopped.continuation)
    }

    @Test func streamedTextEqualsTheCompletion() throws {
        let model = try TestModels.smallLlama()
        let context = GenerationContext(model: model)
        var streamed = ""
        var indices: [Int] = []
        let completion = try context.generate("ab", parameters: GenerationParameters(maxTokens: 12, temperature: 1, seed: 5)) { event in
            streamed += event.text
            indices.append(event.index)
            return true
        }
        #expect(streamed == completion.continuation)
        #expect(indices == Array(0..<indices.count))
    }

    @Test func callbackCanStopAGeneration() throws {
        let context = GenerationContext(model: Self.demo)
        let completion = try context.generate("abc", parameters: GenerationParameters(maxTokens: 30, seed: 1)) { $0.index < 4 }
        #expect(completion.finishReason == .cancelled && completion.completionTokenCount == 5)
    }

    @Test func asyncStreamDeliversTokens() async throws {
        var tokens: [Int] = []
        for try await event in Self.demo.stream("Once upon", GenerationParameters(maxTokens: 10, temperature: 0.8, seed: 2)) {
            tokens.append(event.token)
        }
        #expect(tokens == (try Self.demo.generate("Once upon", GenerationParameters(maxTokens: 10, temperature: 0.8, seed: 2)).tokens))
    }

    @Test func contextsAreReusable() throws {
        let context = GenerationContext(model: Self.demo)
        let p = GenerationParameters(maxTokens: 20, temperature: 0.8, topK: 20, seed: 4)
        let first = try context.generate("In the year 2050", parameters: p)
        _ = try context.generate("Something else entirely", parameters: p)
        #expect(try context.generate("In the year 2050", parameters: p).tokens == first.tokens)
    }
}

/// Eight generations at once on one shared model equal their sequential twins, bit for bit.
struct ConcurrencyTests {
    static let prompts = ["The future of AI", "Once upon a time", "In the year 2050", "The quick brown fox",
                          "Breaking news:", "Why do we", "How to build", "Imagine if"]

    static func run(_ model: Model, concurrently: Bool, maxTokens: Int) async throws -> [Completion] {
        let parameters = prompts.indices.map { GenerationParameters(maxTokens: maxTokens, temperature: 0.8, topK: 20, seed: UInt64($0)) }
        guard concurrently else { return try prompts.indices.map { try model.generate(prompts[$0], parameters[$0]) } }
        return try await withThrowingTaskGroup(of: (Int, Completion).self) { group in
            for i in prompts.indices {
                group.addTask { (i, try model.generate(prompts[i], parameters[i])) }
            }
            var results = [Completion?](repeating: nil, count: prompts.count)
            for try await (i, completion) in group { results[i] = completion }
            return results.map { $0! }
        }
    }

    @Test func demoModel() async throws {
        let model = Model.demo()
        let sequential = try await Self.run(model, concurrently: false, maxTokens: 30)
        let concurrent = try await Self.run(model, concurrently: true, maxTokens: 30)
        for i in sequential.indices {
            #expect(concurrent[i].tokens == sequential[i].tokens && concurrent[i].text == sequential[i].text, "prompt \(i)")
        }
    }

    @Test(.enabled(if: SharedFiles.available, SharedFiles.skipReason))
    func stories260K() async throws {
        let model = try Model.load(path: SharedFiles.model("stories260K.bin"), tokenizerPath: SharedFiles.model("tok512.bin"))
        let sequential = try await Self.run(model, concurrently: false, maxTokens: 60)
        let concurrent = try await Self.run(model, concurrently: true, maxTokens: 60)
        for i in sequential.indices { #expect(concurrent[i].tokens == sequential[i].tokens, "prompt \(i)") }
    }
}

struct TokenizerTests {
    @Test func characterTokenizerRoundTrips() throws {
        let tokenizer = CharacterTokenizer()
        #expect(tokenizer.vocabularySize == 96)
        let text = "Hello, World! 42 times; yes: no? a-b\n"
        #expect(tokenizer.decode(try tokenizer.encode(text)) == text)
        // Every printable ASCII character and newline, one id each; the C# sample's 71 keep their ids.
        let printable = String((0x20...0x7E).map { Character(Unicode.Scalar(UInt8($0))) }) + "\n"
        #expect(Set(try tokenizer.encode(printable)) == Set(0..<96))
        #expect(try tokenizer.encode("a-\n") == [0, 69, 70])
        #expect(try tokenizer.encode("It's \"ok\" (100%) @home").count == 22)
        #expect(throws: TokenizerError.self) { try tokenizer.encode("tab\there") }
    }

    @Test func streamingDetokenizerHoldsBackHalfCharacters() {
        var d = StreamingDetokenizer()
        #expect(d.append([0x61]) == "a")
        #expect(d.append([0xE2]) == "")
        #expect(d.append([0x82]) == "")
        #expect(d.append([0xAC, 0x62]) == "€b")
        #expect(d.append([0xF0, 0x9F]) == "")
        #expect(d.append([0x98, 0x80]) == "😀")
        #expect(d.append([0xC3]) == "")
        #expect(d.finish() == "\u{FFFD}")
        #expect(d.append([0xFF, 0x41]) == "\u{FFFD}A")
    }

    @Test func stopStringMatcherHoldsBackPossibleStarts() {
        var m = StopStringMatcher(stops: ["END", "xy"])
        #expect(m.append("abcE") == ("abc", false))
        #expect(m.append("N") == ("", false))
        #expect(m.append("o") == ("ENo", false))
        #expect(m.append("x") == ("", false))
        #expect(m.append("yz") == ("", true))
        #expect(m.fullText == "abcENo")
    }
}

struct SamplerTests {
    @Test func xorshiftMatchesLlama2c() {
        // run.c: state ^= state >> 12; state ^= state << 25; state ^= state >> 27;
        //        return (state * 0x2545F4914F6CDD1D) >> 32
        var expectedState: UInt64 = 42
        var random = XorShiftRandom(seed: 42)
        for _ in 0..<100 {
            expectedState ^= expectedState >> 12
            expectedState ^= expectedState << 25
            expectedState ^= expectedState >> 27
            #expect(random.nextUInt32() == UInt32((expectedState &* 0x2545F4914F6CDD1D) >> 32))
        }
        var unit = XorShiftRandom(seed: 1)
        for _ in 0..<1000 {
            let f = unit.nextFloat()
            #expect(f >= 0 && f < 1)
        }
    }

    @Test func topPKeepsOnlyTheNucleus() {
        // probabilities after softmax ≈ [0.64, 0.24, 0.09, 0.03]: top-p 0.5 always picks token 0.
        let logits: [Float] = [3, 2, 1, 0]
        var sampler = Sampler(parameters: GenerationParameters(temperature: 1, topP: 0.5, seed: 9))
        for _ in 0..<200 { #expect(logits.withUnsafeBufferPointer { sampler.sample($0) } == 0) }
        var wide = Sampler(parameters: GenerationParameters(temperature: 1, topP: 0.95, seed: 9))
        let seen = Set((0..<500).map { _ in logits.withUnsafeBufferPointer { wide.sample($0) } })
        #expect(seen == [0, 1, 2])
    }

    @Test func topKLimitsCandidates() {
        let logits: [Float] = [0.5, 0.4, 0.3, 0.2, 0.1]
        var sampler = Sampler(parameters: GenerationParameters(temperature: 5, topK: 2, topP: 1, seed: 3))
        let seen = Set((0..<500).map { _ in logits.withUnsafeBufferPointer { sampler.sample($0) } })
        #expect(seen == [0, 1])
    }
}
