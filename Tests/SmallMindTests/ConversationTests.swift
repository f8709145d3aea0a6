import Testing
@testable import SmallMind

/// A conversation's turns through the engine, on the tiny letter model (its vocabulary spells only
/// a–h, so the template writes letters).
struct ConversationTests {
    static let template = try! ChatTemplate(source: """
        {{ bos_token }}{% for m in messages %}{% if m.role == 'user' %}hh{% else %}gg{% endif %}{{ m.content }}{% endfor %}\
        {% if add_generation_prompt %}gg{% endif %}
        """)

    @Test func theTemplatesBOSIsNotWrittenTwice() throws {
        let model = try PrefixReuseTests.model()
        #expect(model.tokenizer.addsBOS && model.chatTemplateContext.bosToken == "<s>")
        var conversation = try Conversation(model: model, template: Self.template)
        conversation.append(ChatMessage(role: "user", content: "abc"))
        #expect(try conversation.prompt() == "hhabcgg")
        #expect(try Self.template.render(conversation.messages, addGenerationPrompt: true, context: model.chatTemplateContext) == "<s>hhabcgg")
    }

    @Test func eachTurnComputesOnlyItsNewTokens() async throws {
        let model = try PrefixReuseTests.model()
        let engine = try Engine(model: model, options: EngineOptions(maxBatch: 2, threads: 2))
        var conversation = try Conversation(model: model, template: Self.template, system: "abab")
        let parameters = GenerationParameters(maxTokens: 6, temperature: 0.8, seed: 3)
        var previous: Completion?
        for message in ["abc", "def", "ahe"] {
            let completion = try await conversation.reply(to: message, with: engine, parameters: parameters)
            #expect(conversation.messages.last == ChatMessage(role: "assistant", content: completion.continuation))
            if let previous {
                #expect(completion.cachedPromptTokenCount >= previous.promptTokenCount)
            }
            previous = completion
        }
        #expect(conversation.messages.map(\.role) == ["system", "user", "assistant", "user", "assistant", "user", "assistant"])
        conversation.reset()
        #expect(conversation.messages == [ChatMessage(role: "system", content: "abab")])
    }

    @Test func aFailedTurnLeavesTheHistoryAsItWas() async throws {
        let model = try PrefixReuseTests.model()
        let engine = try Engine(model: model, options: EngineOptions(maxBatch: 1, threads: 1))
        var conversation = try Conversation(model: model, template: Self.template)
        await #expect(throws: (any Error).self) {
            // 'z' is not in the vocabulary.
            try await conversation.reply(to: "zzz", with: engine)
        }
        #expect(conversation.messages.isEmpty)
    }

    @Test func aModelWithoutATemplateChatsInChatML() throws {
        let model = Model.demo()
        #expect(model.chatTemplateSource == nil)
        var conversation = try Conversation(model: model, system: "Be brief.")
        conversation.append(ChatMessage(role: "user", content: "Hi"))
        #expect(try conversation.prompt() == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    }
}
