import Foundation
import Testing
@testable import SmallMind

/// The real templates in ../shared/templates against Python's jinja2 3.1.6 with Hugging Face's
/// settings (../shared/golden/chat-templates.json): every prompt byte for byte, every error with
/// jinja2's message.
@Suite
struct ChatTemplateGoldenTests {
    struct Case: Decodable, CustomTestStringConvertible, Sendable {
        let template: String
        let conversation: String
        let messages: [ChatMessage]
        let add_generation_prompt: Bool
        let prompt: String?
        let error: String?

        var testDescription: String { "\(template) \(conversation) generation prompt: \(add_generation_prompt)" }
    }

    static let cases: [Case] = {
        guard SharedFiles.available,
              let data = try? Data(contentsOf: URL(fileURLWithPath: SharedFiles.path("golden/chat-templates.json")))
        else { return [] }
        struct File: Decodable { let cases: [Case] }
        return (try? JSONDecoder().decode(File.self, from: data).cases) ?? []
    }()

    /// The golden's settings: bos `<s>`, eos `</s>`, and a clock fixed on 2026-01-15.
    static let context = ChatTemplateContext(
        bosToken: "<s>", eosToken: "</s>", now: { Date(timeIntervalSince1970: 1_768_478_400) })  // 2026-01-15 12:00 UTC

    static func template(_ name: String) throws -> ChatTemplate {
        let source = try String(contentsOfFile: SharedFiles.path("templates/\(name)"), encoding: .utf8)
        return try ChatTemplate(source: source)
    }

    @Test(.enabled(if: SharedFiles.available, SharedFiles.skipReason))
    func goldenFileHoldsEightyCasesOverTenTemplates() {
        #expect(Self.cases.count == 80)
        #expect(Set(Self.cases.map(\.template)).count == 10)
        #expect(Self.cases.filter { $0.error != nil }.count == 4)
    }

    @Test(.enabled(if: SharedFiles.available, SharedFiles.skipReason), arguments: cases)
    func rendersLikeJinja2(_ golden: Case) throws {
        let template = try Self.template(golden.template)
        if let expected = golden.prompt {
            let prompt = try template.render(golden.messages, addGenerationPrompt: golden.add_generation_prompt, context: Self.context)
            #expect(prompt == expected)
        } else {
            let expected = try #require(golden.error)
            let error = try #require(throws: ChatTemplateError.self) {
                try template.render(golden.messages, addGenerationPrompt: golden.add_generation_prompt, context: Self.context)
            }
            #expect(error.kind == .raised)
            // The golden records Python's `ValueError: message`; the message is the template's own.
            #expect(expected.hasSuffix(": " + error.message))
            #expect(error.message == "System role not supported")
            #expect(error.description == error.message)
        }
    }
}
