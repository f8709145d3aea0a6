// `smallmind chat-template`: what a model's chat template makes of a conversation, exactly.
import ArgumentParser
import Foundation
import SmallMind

public struct ChatTemplateCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "chat-template",
        abstract: "Render a conversation with a model's chat template: the prompt `chat` would send, exactly.",
        discussion: """
            The messages are OpenAI's list of {"role": ..., "content": ...} objects, or an object \
            with a "messages" list (a chat completions request body). Other fields (tool_calls, \
            name, ...) reach the template as they are.

            The template is the model's own (GGUF tokenizer.chat_template), or --chat-template-file; \
            a model without one uses ChatML (<|im_start|>role\\ncontent<|im_end|>\\n). bos_token and \
            eos_token are the model's. The prompt is printed as rendered, with no newline added. \
            A template that does not parse, or raises an error, exits 1 with its message.
            """)

    @OptionGroup public var modelOptions: ModelOptions

    @Option(name: .customLong("chat-template-file"), help: ArgumentHelp("A Jinja chat template to use instead of the model's.", valueName: "path"))
    public var chatTemplateFile: String?

    @Option(help: ArgumentHelp("The messages as JSON; - is standard input.", valueName: "path"))
    public var messages: String

    @Flag(name: .customLong("no-generation-prompt"), help: "Leave out the assistant header that asks the model for a reply (add_generation_prompt = false).")
    public var noGenerationPrompt = false

    public init() {}

    public func run() async throws {
        let model = try modelOptions.load()
        let template = try ChatTemplateFiles.template(for: model, file: chatTemplateFile)
        let messages = try Self.parseMessages(TextInput.read(messages, what: "the messages"), source: TextInput.name(messages))
        do {
            StandardStreams.out(try template.render(messages: messages, addGenerationPrompt: !noGenerationPrompt, context: model.chatTemplateContext))
        } catch {
            throw CommandFailure(error)
        }
    }

    /// The messages of a JSON text: a list, or an object with a "messages" list.
    static func parseMessages(_ text: String, source: String) throws -> [TemplateValue] {
        let value: TemplateValue
        do { value = try TemplateValue(parsingJSON: text) } catch {
            throw CommandFailure(message: "\(source): the messages are not valid JSON: \(error.message)")
        }
        var list: [TemplateValue]
        switch value {
        case .array(let items): list = items
        case .object(let object):
            guard case .array(let items)? = object["messages"] else {
                throw CommandFailure(message: "\(source): expected a list of messages, or an object with a \"messages\" list")
            }
            list = items
        default:
            throw CommandFailure(message: "\(source): expected a list of messages, or an object with a \"messages\" list")
        }
        for (index, message) in list.enumerated() {
            guard case .object(let object) = message, case .string? = object["role"] else {
                throw CommandFailure(message: "\(source): message \(index) is not an object with a \"role\" string")
            }
        }
        return list
    }
}

/// Where a command's chat template comes from.
enum ChatTemplateFiles {
    /// `file`'s template when given, else the model's own (ChatML when it has none); a template
    /// that does not parse is one clear line naming the file, line and column.
    static func template(for model: Model, file: String?) throws -> ChatTemplate {
        do {
            if let file { return try ChatTemplate(source: TextInput.read(file, what: "the chat template")) }
            return try model.chatTemplate()
        } catch let error as ChatTemplateError {
            throw CommandFailure(message: "\(file.map(TextInput.name) ?? "the model's chat template"): \(error)")
        }
    }

    /// How the banner names the template in use.
    static func describe(_ model: Model, file: String?) -> String {
        if let file { return "the chat template in \(TextInput.name(file))" }
        return model.chatTemplateSource == nil ? "ChatML (the model has no chat template of its own: it may not be an instruct model)" : "the model's chat template"
    }
}
