import Foundation
import Testing
@testable import SmallMind

/// What is ours rather than jinja2's: error positions and wording, the bounds that keep a hostile
/// template from hanging or crashing the process, the ChatML fallback, the public value type,
/// the injected clock and thread safety. (The language itself is checked against jinja2 in
/// ChatTemplateLanguageTests and ChatTemplateGoldenTests.)
@Suite
struct ChatTemplateTests {
    func render(_ source: String, _ messages: [ChatMessage] = [], context: ChatTemplateContext = .init()) throws -> String {
        try ChatTemplate(source: source).render(messages, addGenerationPrompt: false, context: context)
    }

    func loadError(_ source: String) throws -> ChatTemplateError {
        try #require(throws: ChatTemplateError.self) { try ChatTemplate(source: source) }
    }

    func renderError(_ source: String, limits: JinjaRenderer.Limits = .init()) throws -> ChatTemplateError {
        let template = try ChatTemplate(source: source)
        return try #require(throws: ChatTemplateError.self) {
            try template.render(messages: [], addGenerationPrompt: false, context: .init(), limits: limits)
        }
    }

    // MARK: Load errors name line and column

    @Test func missingBlockEndNamesTheEndTagAndItsPlace() throws {
        let error = try loadError("line one\n{% if x %}\n  yes\n{% endif x %}")
        #expect(error.kind == .syntax)
        #expect(error.line == 4 && error.column == 10)
        #expect(error.description == "chat template line 4, column 10: expected '%}' after 'endif', found 'x'")
    }

    @Test func misplacedEndTagNamesTheOpenBlock() throws {
        let error = try loadError("{% for m in messages %}\n  {% if m %}\n  {% endfor %}")
        #expect(error.line == 3 && error.column == 6)
        #expect(error.message.contains("'endfor'") && error.message.contains("innermost open block is 'if' at line 2"))
    }

    @Test func unclosedBlockAtTheEnd() throws {
        let error = try loadError("{% for m in messages %}\n{{ m }}")
        #expect(error.line == 2)
        #expect(error.message.contains("'for' block opened at line 1 was never closed") && error.message.contains("'endfor'"))
    }

    @Test func unknownFilterAndTestAreLoadErrorsAtTheirPlace() throws {
        let filter = try loadError("ok\n{{ messages | shout }}")
        #expect(filter.line == 2 && filter.column == 15)
        #expect(filter.message == "no filter named 'shout'")
        let test = try loadError("{{ 1 is prime }}")
        #expect(test.message == "no test named 'prime'" && test.column == 6)
        let unsupported = try loadError("{{ x | urlize }}")
        #expect(unsupported.message == "the filter 'urlize' is not supported in chat templates")
    }

    @Test func lexicalErrors() throws {
        #expect(try loadError("a\n{{ 'open }}").line == 2)
        #expect(try loadError("{{ 'open }}").column == 4)
        #expect(try loadError("{# no end").message == "missing end of comment tag '#}'")
        #expect(try loadError("{{ x @ y }}").message == "unexpected character '@'")
        #expect(try loadError("{{ (1 }}").message == "unexpected '}', expected ')'")
        #expect(try loadError("{{ 99999999999999999999 }}").message.contains("too large"))
        #expect(try loadError("{% raw %}never ended").kind == .syntax)
    }

    @Test func unsupportedTagsAreNamed() throws {
        #expect(try loadError("{% include 'x' %}").message == "the 'include' tag is not supported in chat templates")
        #expect(try loadError("{% frobnicate %}").message == "unknown tag 'frobnicate'")
        #expect(try loadError("{% continue %}").message == "'continue' outside a loop")
    }

    // MARK: Render errors

    @Test func raiseExceptionGivesExactlyTheMessage() throws {
        let error = try renderError("{% if true %}\n  {{- raise_exception('Roles must alternate') }}\n{% endif %}")
        #expect(error.kind == .raised)
        #expect(error.message == "Roles must alternate")
        #expect(error.description == "Roles must alternate")
        #expect(error.line == 2)
    }

    @Test func typeErrorsNameTheirPlace() throws {
        let error = try renderError("a\nb {{ 'text' + 1 }}")
        #expect(error.kind == .runtime)
        #expect(error.description == "chat template line 2, column 13: can only concatenate str (not \"int\") to str")
    }

    @Test func unknownFilterInsideAnIfFailsWhenReached() throws {
        let template = try ChatTemplate(source: "{% if messages %}{{ messages | shout }}{% endif %}")
        #expect(try template.render([], addGenerationPrompt: false) == "")
        let error = try #require(throws: ChatTemplateError.self) {
            try template.render([ChatMessage(role: "user", content: "hi")], addGenerationPrompt: false)
        }
        #expect(error.message == "No filter named 'shout' found.")
        #expect(error.line == 1 && error.column == 32)
    }

    @Test func usingUndefinedValues() throws {
        #expect(try render("[{{ nothing }}][{{ nothing|length }}][{% for x in nothing %}x{% endfor %}]") == "[][0][]")
        #expect(try renderError("{{ nothing.field }}").message == "'nothing' is undefined")
        #expect(try renderError("{{ nothing() }}").message == "'nothing' is undefined")
        #expect(try renderError("{{ messages[0].role }}").message == "list object has no element 0")
    }

    // MARK: Bounds

    @Test func endlessMacroRecursionStops() throws {
        let error = try renderError("{% macro loop_forever(n) %}{{ loop_forever(n + 1) }}{% endmacro %}{{ loop_forever(0) }}")
        #expect(error.message == "macro calls nest deeper than 64 levels (endless recursion?)")
        #expect(error.line == 1)
    }

    @Test func outputIsBounded() throws {
        var limits = JinjaRenderer.Limits()
        limits.maximumOutputBytes = 1 << 20
        let error = try renderError("{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}", limits: limits)
        #expect(error.message == "the rendered text would exceed 1 MiB, the limit for a chat template")
    }

    @Test func loopIterationsAreBounded() throws {
        var limits = JinjaRenderer.Limits()
        limits.maximumSteps = 10_000
        let error = try renderError("{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}", limits: limits)
        #expect(error.message == "the template ran more than 10000 loop iterations and calls, the limit for a chat template")
    }

    @Test func valuesAreBounded() throws {
        let doubling = "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
        #expect(try renderError(doubling).message == "a value would grow past 16 MiB, the limit for a chat template")
        let listDoubling = "{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}"
        #expect(try renderError(listDoubling).message.contains("16 MiB"))
        #expect(try renderError("{{ ('x' * 4000000)|list|length }}").message.contains("16 MiB"))
        #expect(try render("{{ ('x' * 100000)|list|length }}") == "100000")
        #expect(try renderError("{{ 'a' * 9223372036854775807 }}").message.contains("16 MiB"))
        #expect(try renderError("{{ [1] * 9223372036854775807 }}").message.contains("16 MiB"))
        #expect(try renderError("{{ 9223372036854775807 + 1 }}").message == "integer overflow: the result does not fit in 64 bits")
        #expect(try renderError("{{ 2 ** 64 }}").message.contains("overflow"))
        #expect(try renderError("{{ -(-9223372036854775807 - 1) }}").message.contains("overflow"))
        #expect(try renderError("{{ range(-9223372036854775807, 9223372036854775807)|length }}").message.contains("Range too big"))
        #expect(try render("{{ '%d'|format(1e300) if false }}{{ 'x'.zfill(-9223372036854775807 - 1) }}{{ 'x'.center(9223372036854775807)|length }}")
            == "x1048577")
    }

    @Test func deepAndSelfHoldingValuesAreRefused() throws {
        let deepening = "{% set ns = namespace(x=[]) %}{% for i in range(1000) %}{% set ns.x = [ns.x] %}{% endfor %}"
        #expect(try renderError(deepening).message.hasPrefix("a value nests deeper than 100 levels"))
        let selfHolding = "{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}"
        #expect(try renderError(selfHolding).message.hasPrefix("a value nests deeper than 100 levels (or holds itself)"))
        let mutual = "{% set a = namespace() %}{% set b = namespace(a=a) %}{% set a.b = b %}"
        #expect(try renderError(mutual).message.contains("holds itself"))
        // Shallow nesting is fine.
        #expect(try render("{% set ns = namespace(x=[]) %}{% for i in range(3) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}") == "[[[[]]]]")
    }

    @Test func deepNestingInTheSourceIsASyntaxError() throws {
        let parentheses = String(repeating: "(", count: 500) + "1" + String(repeating: ")", count: 500)
        #expect(try loadError("{{ \(parentheses) }}").message == "the template nests deeper than 120 levels")
        let blocks = String(repeating: "{% if true %}", count: 500) + String(repeating: "{% endif %}", count: 500)
        #expect(try loadError(blocks).kind == .syntax)
        let negations = "{{ " + String(repeating: "not ", count: 500) + "x }}"
        #expect(try loadError(negations).kind == .syntax)
        let json = String(repeating: "[", count: 101) + String(repeating: "]", count: 101)
        #expect(throws: ChatTemplateError.self) { try TemplateValue(parsingJSON: json) }
        #expect(throws: Never.self) { try TemplateValue(parsingJSON: String(json.dropFirst().dropLast())) }
    }

    /// A template at the depth bound: 33 macro levels, each an `if`, an output and the call nested
    /// in six lists and six filters (15 levels), 499 in all where the bound is 500.
    static let deepestTemplate = """
        {%- macro down(n) %}{% if n > 0 %}{{ [[[[[[down(n - 1)]]]]]]|first|first|first|first|first|first }}\
        {%- else %}bottom{% endif %}{% endmacro %}{{ down(33) }}
        """

    @Test func statementsExpressionsAndCallsShareADepthBound() throws {
        #expect(try render(Self.deepestTemplate) == "bottom")
        let error = try renderError(Self.deepestTemplate.replacingOccurrences(of: "down(33)", with: "down(34)"))
        #expect(error.message == "statements, expressions and calls nest deeper than 500 levels, the limit for a chat template")
    }

    /// Parsing and rendering run on a stack of their own, so the deepest template the bounds
    /// allow works even when the caller's thread has only 512 KiB (macOS secondary threads).
    @Test func theDeepestAllowedTemplateRunsFromASmallStack() throws {
        let parentheses = "{{ " + String(repeating: "[", count: 110) + "1" + String(repeating: "]", count: 110) + "|length }}"
        let result = Locked<[String]>([])
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            for source in [Self.deepestTemplate, parentheses] {
                let text = (try? ChatTemplate(source: source).render([], addGenerationPrompt: false)) ?? "failed"
                result.withLock { $0.append(text) }
            }
            done.signal()
        }
        thread.stackSize = 512 << 10
        thread.start()
        done.wait()
        #expect(result.withLock { $0 } == ["bottom", "1"])
    }

    // MARK: ChatML, values, clock, threads

    @Test func chatMLRendersAConversationExactly() throws {
        let conversation = [
            ChatMessage(role: "system", content: "You are terse."),
            ChatMessage(role: "user", content: "Hi"),
            ChatMessage(role: "assistant", content: "Hello."),
            ChatMessage(role: "user", content: "Bye 👋"),
        ]
        let body = "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            + "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye 👋<|im_end|>\n"
        #expect(try ChatTemplate.chatML.render(conversation, addGenerationPrompt: false) == body)
        #expect(try ChatTemplate.chatML.render(conversation, addGenerationPrompt: true) == body + "<|im_start|>assistant\n")
        #expect(try ChatTemplate.chatML.render([], addGenerationPrompt: true) == "<|im_start|>assistant\n")
    }

    @Test func contextVariablesAndTheirPrecedence() throws {
        let source = "{{ bos_token }}|{{ eos_token }}|{{ tools }}|{{ documents }}|{{ messages|length }}|{{ add_generation_prompt }}|{{ extra }}"
        #expect(try render(source) == "||None|None|0|False|")
        var context = ChatTemplateContext(bosToken: "<s>", eosToken: "</s>")
        context.variables = ["tools": [["name": "f"]], "extra": 1.5, "messages": "ignored", "add_generation_prompt": true]
        #expect(try render(source, [ChatMessage(role: "user", content: "x")], context: context)
            == "<s>|</s>|[{'name': 'f'}]|None|1|False|1.5")
    }

    @Test func strftimeNowReadsTheInjectedClockInUTC() throws {
        // 2026-01-15 23:30:00 UTC: still the 15th in UTC whatever the machine's zone.
        let context = ChatTemplateContext(now: { Date(timeIntervalSince1970: 1_768_519_800) })
        #expect(try render("{{ strftime_now('%d %b %Y %H:%M %A %j') }}", context: context) == "15 Jan 2026 23:30 Thursday 015")
        let leap = ChatTemplateContext(now: { Date(timeIntervalSince1970: 1_709_164_800) })  // 2024-02-29 00:00 UTC
        #expect(try render("{{ strftime_now('%-d/%-m/%y %I%p %U %W %u %Q') }}", context: leap) == "29/2/24 12AM 08 09 4 %Q")
    }

    @Test func templateValuesFromJSONKeepKeyOrder() throws {
        let value = try TemplateValue(parsingJSON: #"{"z": 1, "a": [true, null, 2.5, "é\n\ud83d\ude42"], "m": {"y": -3e2, "b": 0}}"#)
        guard case .object(let object) = value else { Issue.record("not an object"); return }
        #expect(object.keys == ["z", "a", "m"])
        #expect(object["a"] == [true, nil, 2.5, "é\n🙂"])
        #expect(object["m"] == ["y": -300.0, "b": 0])
        let template = try ChatTemplate(source: "{{ tools|tojson }}")
        let rendered = try template.render([], addGenerationPrompt: false, context: .init(variables: ["tools": value]))
        #expect(rendered == #"{"z": 1, "a": [true, null, 2.5, "é\n🙂"], "m": {"y": -300.0, "b": 0}}"#)
    }

    @Test func badJSONIsAClearError() throws {
        let error = try #require(throws: ChatTemplateError.self) { try TemplateValue(parsingJSON: #"{"a": [1, 2}"#) }
        #expect(error.kind == .value)
        #expect(error.description == "chat template: invalid JSON at byte 11: expected ',' or ']' in an array")
        #expect(throws: ChatTemplateError.self) { try TemplateValue(parsingJSON: "[1] x") }
        #expect(throws: ChatTemplateError.self) { try TemplateValue(parsingJSON: #""\x""#) }
    }

    @Test func templateValuesFromFoundationAndCodable() throws {
        let object = try JSONSerialization.jsonObject(with: Data(#"{"b": true, "a": [1, 1.5, "s", null, false]}"#.utf8))
        let value = try TemplateValue(jsonObject: object)
        #expect(value == ["a": [1, 1.5, "s", nil, false], "b": true])
        let encoded = try JSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(TemplateValue.self, from: encoded) == value)
        #expect(throws: ChatTemplateError.self) { try TemplateValue(jsonObject: Date()) }
        #expect(TemplateValue(ChatMessage(role: "user", content: "hi")) == ["role": "user", "content": "hi"])
    }

    @Test func messagesWithExtraFields() throws {
        let message: TemplateValue = [
            "role": "assistant", "content": nil,
            "tool_calls": [["function": ["name": "get_time", "arguments": ["zone": "UTC"]]]],
        ]
        let source = "{% for m in messages %}{{ m.role }}:{{ m.content is none }}:{% for c in m.tool_calls %}{{ c.function.name }}{{ c.function.arguments|tojson }}{% endfor %}{% endfor %}"
        let rendered = try ChatTemplate(source: source).render(messages: [message], addGenerationPrompt: false)
        #expect(rendered == #"assistant:True:get_time{"zone": "UTC"}"#)
    }

    @Test func oneTemplateRendersFromManyTasksAtOnce() async throws {
        let template = try ChatTemplate(source: """
            {%- set ns = namespace(n=0) -%}
            {%- for m in messages %}{% set ns.n = ns.n + 1 %}{{ ns.n }}:{{ m.role }}:{{ m.content|upper }};{% endfor -%}
            """)
        let results = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for index in 0..<32 {
                group.addTask {
                    let messages = (0...index % 5).map { ChatMessage(role: "user", content: "m\(index)-\($0)") }
                    return (index, try template.render(messages, addGenerationPrompt: false))
                }
            }
            var results: [Int: String] = [:]
            for try await (index, text) in group { results[index] = text }
            return results
        }
        for (index, text) in results {
            let expected = (0...index % 5).map { "\($0 + 1):user:M\(index)-\($0);" }.joined()
            #expect(text == expected)
        }
    }
}
