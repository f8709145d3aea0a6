/// Why a chat template could not be loaded or rendered.
///
/// Load errors and render errors name the template's line and column (1-based, counted in
/// Unicode scalars). An error the template raises itself (`raise_exception("…")`) carries the
/// template's message unchanged, both as ``message`` and as ``description``.
public struct ChatTemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The template does not parse (thrown by `ChatTemplate(source:)`).
        case syntax
        /// Rendering failed: an undefined value used, a type error, a limit reached.
        case runtime
        /// The template called `raise_exception(message)`.
        case raised
        /// A value given to the template (JSON) could not be read.
        case value
    }

    public var kind: Kind
    /// What went wrong, without the position.
    public var message: String
    public var line: Int?
    public var column: Int?

    public init(kind: Kind, message: String, line: Int? = nil, column: Int? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
    }

    public var description: String {
        if kind == .raised { return message }
        if let line, let column { return "chat template line \(line), column \(column): \(message)" }
        return "chat template: \(message)"
    }
}
