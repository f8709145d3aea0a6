import Foundation

/// One chat message as OpenAI sends it.
public struct ChatMessage: Sendable, Codable, Equatable, Hashable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// What a template sees besides the messages.
public struct ChatTemplateContext: Sendable {
    /// Rendered as `bos_token` (the vocabulary's beginning-of-sequence text).
    public var bosToken: String
    /// Rendered as `eos_token`.
    public var eosToken: String
    /// The clock behind `strftime_now` (read in UTC); tests fix it.
    public var now: @Sendable () -> Date
    /// Extra globals (`tools`, `enable_thinking`, `date_string` …); they override the defaults
    /// (`tools` and `documents` are none, as Hugging Face passes them) but not `messages` or
    /// `add_generation_prompt`.
    public var variables: [String: TemplateValue]

    public init(
        bosToken: String = "", eosToken: String = "", now: @escaping @Sendable () -> Date = { Date() },
        variables: [String: TemplateValue] = [:]
    ) {
        self.bosToken = bosToken
        self.eosToken = eosToken
        self.now = now
        self.variables = variables
    }
}

/// A chat template: the Jinja program instruct models ship (`tokenizer.chat_template`) that turns
/// a conversation into the exact prompt the model was trained on.
///
/// The engine follows Python's jinja2 with Hugging Face's `apply_chat_template` settings
/// (sandboxed and immutable, `trim_blocks`, `lstrip_blocks`, `break`/`continue`,
/// `raise_exception`, `strftime_now`, `tojson` without ASCII escaping) so a prompt comes out byte
/// for byte as transformers renders it. The source is parsed once, here; rendering is safe from
/// any thread.
///
/// Where it differs from jinja2, knowingly:
/// - filters that return generators there (`map`, `select`, `selectattr`, `unique`, `items` …)
///   and dictionary views (`keys()`, `items()`) return lists: they loop, join and test the
///   same, but print as lists and have a length;
/// - `|safe` and `|escape` give plain strings: jinja2's Markup would HTML-escape a string added
///   to it with `+` (llama.cpp's template engine does not either);
/// - integers are 64-bit: where Python would grow a big integer, rendering fails;
/// - `include`, `import`, `extends` and `block` are refused at load (a chat template is one file);
/// - hostile templates meet bounds jinja2 lacks (output and value sizes, nesting, loop
///   iterations, a namespace holding itself); reaching one is an error naming it;
/// - load errors are worded here, with line and column; render errors carry jinja2's message.
public struct ChatTemplate: Sendable {
    public let source: String
    private let statements: [JinjaStatement]

    /// Parses at once; a template that does not parse (or names an unknown filter or test)
    /// throws an error naming the line and column.
    public init(source: String) throws(ChatTemplateError) {
        self.source = source
        statements = try LargeStack.run { () throws(ChatTemplateError) in try JinjaParser.parse(source) }
    }

    /// ChatML (`<|im_start|>role\ncontent<|im_end|>\n` per message, `<|im_start|>assistant\n` as
    /// the generation prompt): what a model without a template uses, as llama.cpp does.
    public static let chatML: ChatTemplate = {
        let source = """
            {%- for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{%- endfor %}
            {%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}
            """
        do {
            return try ChatTemplate(source: source)
        } catch {
            preconditionFailure("the built-in ChatML template does not parse: \(error)")
        }
    }()

    /// Renders plain role/content messages.
    public func render(
        _ messages: [ChatMessage], addGenerationPrompt: Bool, context: ChatTemplateContext = .init()
    ) throws(ChatTemplateError) -> String {
        try render(messages: messages.map(TemplateValue.init), addGenerationPrompt: addGenerationPrompt, context: context)
    }

    /// Renders messages of any shape (tool calls, content parts …) as JSON-like values.
    public func render(
        messages: [TemplateValue], addGenerationPrompt: Bool, context: ChatTemplateContext = .init()
    ) throws(ChatTemplateError) -> String {
        try render(messages: messages, addGenerationPrompt: addGenerationPrompt, context: context, limits: .init())
    }

    /// Rendering with other bounds than the defaults (tests use small ones).
    func render(
        messages: [TemplateValue], addGenerationPrompt: Bool, context: ChatTemplateContext, limits: JinjaRenderer.Limits
    ) throws(ChatTemplateError) -> String {
        var variables: [String: JinjaValue] = [
            "range": .function(.range), "dict": .function(.dict), "namespace": .function(.namespace),
            "raise_exception": .function(.raiseException), "strftime_now": .function(.strftimeNow),
            "tools": .none, "documents": .none,
            "bos_token": .string(context.bosToken), "eos_token": .string(context.eosToken),
        ]
        for (name, value) in context.variables { variables[name] = JinjaValue(value) }
        variables["messages"] = .list(messages.map(JinjaValue.init))
        variables["add_generation_prompt"] = .bool(addGenerationPrompt)
        let statements = statements
        return try LargeStack.run { () throws(ChatTemplateError) in
            let renderer = JinjaRenderer(limits: limits, now: context.now)
            do throws(JinjaFailure) {
                return try renderer.render(statements, in: JinjaScope(parent: nil, variables: variables))
            } catch {
                throw error.publicError
            }
        }
    }
}
