import Foundation
import Testing
@testable import SmallMind

/// The language piece by piece against Python's jinja2 with Hugging Face's settings:
/// Fixtures/chat-template-cases.json holds what jinja2 rendered (or raised) for about 180 small
/// templates and for the real templates of ../shared/templates with tools, tool calls and
/// reasoning (made by scripts/chat_template_fixtures.py; the shared templates are read from
/// ../shared, never copied). Render errors must carry jinja2's message; load errors only need
/// to happen (their wording and positions are ours, see ChatTemplateTests).
@Suite
struct ChatTemplateLanguageTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let template: String?
        let templateFile: String?
        let variables: TemplateObject
        let output: String?
        let error: String?
        let loadError: String?

        var testDescription: String { name }
    }

    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/chat-template-cases.json")

    /// Read with the engine's own ordered JSON reader: key order matters to `tojson` and `items()`.
    static let cases: [Case] = {
        guard let data = try? Data(contentsOf: fixture), case .object(let document)? = try? TemplateValue(parsingJSON: data),
              case .array(let entries)? = document["cases"]
        else { return [] }
        return entries.compactMap { entry -> Case? in
            guard case .object(let fields) = entry, case .string(let name)? = fields["name"] else { return nil }
            func text(_ key: String) -> String? {
                if case .string(let value)? = fields[key] { return value }
                return nil
            }
            var variables = TemplateObject()
            if case .object(let given)? = fields["variables"] { variables = given }
            return Case(name: name, template: text("template"), templateFile: text("template_file"), variables: variables,
                        output: text("output"), error: text("error"), loadError: text("load_error"))
        }
    }()

    static let context = ChatTemplateContext(
        bosToken: "<s>", eosToken: "</s>", now: { Date(timeIntervalSince1970: 1_768_467_907) })  // 2026-01-15 09:05:07 UTC

    static let inlineCases = cases.filter { $0.templateFile == nil }
    static let sharedTemplateCases = cases.filter { $0.templateFile != nil }

    @Test func fixtureIsThere() {
        #expect(Self.inlineCases.count > 150, "Fixtures/chat-template-cases.json is missing or unreadable")
        #expect(Self.sharedTemplateCases.count > 10)
    }

    @Test(arguments: inlineCases)
    func rendersLikeJinja2(_ golden: Case) throws {
        try check(golden, source: try #require(golden.template))
    }

    @Test(.enabled(if: SharedFiles.available, SharedFiles.skipReason), arguments: sharedTemplateCases)
    func realTemplatesWithToolsRenderLikeJinja2(_ golden: Case) throws {
        let file = try #require(golden.templateFile)
        try check(golden, source: try String(contentsOfFile: SharedFiles.path("templates/\(file)"), encoding: .utf8))
    }

    func check(_ golden: Case, source: String) throws {
        var messages: [TemplateValue] = []
        var addGenerationPrompt = false
        var context = Self.context
        for (name, value) in golden.variables {
            switch (name, value) {
            case ("messages", .array(let given)): messages = given
            case ("add_generation_prompt", .bool(let flag)): addGenerationPrompt = flag
            default: context.variables[name] = value
            }
        }

        if golden.loadError != nil {
            let error = try #require(throws: ChatTemplateError.self) { try ChatTemplate(source: source) }
            #expect(error.kind == .syntax)
            #expect(error.line != nil && error.column != nil)
            return
        }
        let template = try ChatTemplate(source: source)
        if let expected = golden.output {
            let rendered = try template.render(messages: messages, addGenerationPrompt: addGenerationPrompt, context: context)
            #expect(rendered == expected)
        } else {
            let expected = try #require(golden.error)
            let error = try #require(throws: ChatTemplateError.self) {
                try template.render(messages: messages, addGenerationPrompt: addGenerationPrompt, context: context)
            }
            #expect(error.message == expected)
            #expect(error.kind == .raised || error.line != nil, "a render error names its line")
        }
    }
}
