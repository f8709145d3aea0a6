/// Turns tokens into statements, with jinja2's grammar: statement tags (`if`, `for`, `set`,
/// `macro`, `call`, `filter`, `with`, `break`, `continue`, Hugging Face's `generation`) and the
/// expression grammar in JinjaExpressionParser.swift. Unknown filters and tests are load errors,
/// as jinja2 reports them when it compiles.
struct JinjaParser {
    /// Deeper nesting than this (blocks or expressions) is refused rather than risk the stack.
    static let maximumNesting = 120

    let tokens: [JinjaToken]
    var index = 0
    var nesting = 0
    /// How many `for` bodies enclose the current statement (inside the current macro):
    /// `break` and `continue` are only allowed when it is positive.
    var enclosingLoops = 0
    /// The open block tags, innermost last, to explain a missing or misplaced end tag.
    var openBlocks: [(tag: String, location: JinjaSourceLocation, endTags: [String])] = []
    /// The end tag most recently consumed (`endif` …), to name it when its `%}` is missing.
    var lastEndTag: String?

    static func parse(_ source: String) throws(ChatTemplateError) -> [JinjaStatement] {
        var parser = JinjaParser(tokens: try JinjaLexer.tokenize(source))
        let (body, _) = try parser.parseBody(endTags: [])
        try JinjaNameCheck.check(body, conditional: false)
        return body
    }

    // MARK: Token stream

    var current: JinjaToken { tokens[index] }
    var next: JinjaToken { tokens[min(index + 1, tokens.count - 1)] }

    mutating func advance() {
        if index < tokens.count - 1 { index += 1 }
    }

    func failure(_ message: String, at location: JinjaSourceLocation? = nil) -> ChatTemplateError {
        let location = location ?? current.location
        return ChatTemplateError(kind: .syntax, message: message, line: location.line, column: location.column)
    }

    func isOperator(_ spelling: String) -> Bool {
        if case .op(spelling) = current.kind { return true }
        return false
    }

    func isName(_ name: String) -> Bool {
        if case .name(name) = current.kind { return true }
        return false
    }

    mutating func skip(operator spelling: String) -> Bool {
        guard isOperator(spelling) else { return false }
        advance()
        return true
    }

    mutating func skip(name: String) -> Bool {
        guard isName(name) else { return false }
        advance()
        return true
    }

    mutating func expect(operator spelling: String, _ context: String) throws(ChatTemplateError) {
        guard skip(operator: spelling) else { throw failure("expected '\(spelling)' \(context), found \(current.kind.described)") }
    }

    mutating func expectName(_ context: String) throws(ChatTemplateError) -> String {
        guard case .name(let name) = current.kind else { throw failure("expected a name \(context), found \(current.kind.described)") }
        advance()
        return name
    }

    mutating func expectBlockEnd(after context: String) throws(ChatTemplateError) {
        guard case .blockEnd = current.kind else { throw failure("expected '%}' after \(context), found \(current.kind.described)") }
        advance()
    }

    mutating func enterNesting() throws(ChatTemplateError) {
        nesting += 1
        if nesting > Self.maximumNesting { throw failure("the template nests deeper than \(Self.maximumNesting) levels") }
    }

    // MARK: Bodies

    /// Statements up to one of `endTags` (`{% endif %}` …). Returns them and the end tag found,
    /// leaving the stream just after its name (nil at the end of the template, top level only).
    mutating func parseBody(endTags: [String]) throws(ChatTemplateError) -> ([JinjaStatement], String?) {
        var body: [JinjaStatement] = []
        while true {
            let token = current
            switch token.kind {
            case .text(let text):
                body.append(JinjaStatement(.text(text), at: token.location))
                advance()
            case .variableBegin:
                advance()
                let expression = try parseTuple()
                guard case .variableEnd = current.kind else {
                    throw failure("expected '}}' to close the expression, found \(current.kind.described)")
                }
                advance()
                body.append(JinjaStatement(.output(expression), at: token.location))
            case .blockBegin:
                advance()
                if case .name(let tag) = current.kind, endTags.contains(tag) {
                    advance()
                    lastEndTag = tag
                    return (body, tag)
                }
                if let statement = try parseStatement() { body.append(statement) }
            case .endOfInput:
                if let open = openBlocks.last {
                    throw failure(
                        "unexpected end of template: the '\(open.tag)' block opened at line \(open.location.line) "
                            + "was never closed (expected \(open.endTags.map { "'\($0)'" }.joined(separator: " or ")))")
                }
                return (body, nil)
            case .variableEnd, .blockEnd, .name, .string, .integer, .float, .op:
                throw failure("unexpected \(token.kind.described)")
            }
        }
    }

    /// A block's body: the tag's `%}`, then statements up to an end tag, then (for the final end
    /// tag) its `%}`.
    mutating func parseBlockBody(
        tag: String, at location: JinjaSourceLocation, endTags: [String], header: String
    ) throws(ChatTemplateError) -> ([JinjaStatement], String) {
        _ = skip(operator: ":")  // jinja2 tolerates Python's colon
        try expectBlockEnd(after: header)
        try enterNesting()
        openBlocks.append((tag, location, endTags))
        let (body, endTag) = try parseBody(endTags: endTags)
        openBlocks.removeLast()
        nesting -= 1
        guard let endTag else { throw failure("unexpected end of template inside '\(tag)'") }
        return (body, endTag)
    }

    // MARK: Statements

    private static let unsupportedTags: Set<String> = [
        "block", "extends", "include", "import", "from", "autoescape", "do", "trans", "pluralize",
    ]

    /// One `{% … %}` statement, from its tag name through its closing `%}`.
    mutating func parseStatement() throws(ChatTemplateError) -> JinjaStatement? {
        let location = current.location
        guard case .name(let tag) = current.kind else { throw failure("expected a tag name after '{%', found \(current.kind.described)") }
        advance()
        lastEndTag = nil
        let statement: JinjaStatement
        switch tag {
        case "if": statement = try parseIf(at: location)
        case "for": statement = try parseFor(at: location)
        case "set": statement = try parseSet(at: location)
        case "macro": statement = try parseMacro(at: location)
        case "call": statement = try parseCallBlock(at: location)
        case "filter": statement = try parseFilterBlock(at: location)
        case "with": statement = try parseWith(at: location)
        case "print":
            let expression = try parseTuple()
            try expectBlockEnd(after: "'print' expression")
            return JinjaStatement(.output(expression), at: location)
        case "generation":
            // Hugging Face's AssistantTracker marks assistant text for training masks; rendering
            // is unaffected. Its body runs like a call block's: in its own scope, outside loops.
            let outerLoops = enclosingLoops
            enclosingLoops = 0
            let (body, _) = try parseBlockBody(tag: tag, at: location, endTags: ["endgeneration"], header: "'generation'")
            enclosingLoops = outerLoops
            statement = JinjaStatement(.group(body), at: location)
        case "break", "continue":
            guard enclosingLoops > 0 else { throw failure("'\(tag)' outside a loop", at: location) }
            statement = JinjaStatement(tag == "break" ? .breakLoop : .continueLoop, at: location)
        default:
            if let open = openBlocks.first(where: { $0.endTags.contains(tag) }) {
                let innermost = openBlocks[openBlocks.count - 1]
                throw failure(
                    "unexpected '\(tag)' (it closes the '\(open.tag)' at line \(open.location.line)): the innermost "
                        + "open block is '\(innermost.tag)' at line \(innermost.location.line), expecting "
                        + innermost.endTags.map { "'\($0)'" }.joined(separator: " or "), at: location)
            }
            if Self.unsupportedTags.contains(tag) {
                throw failure("the '\(tag)' tag is not supported in chat templates", at: location)
            }
            throw failure("unknown tag '\(tag)'", at: location)
        }
        try expectBlockEnd(after: "'\(lastEndTag ?? tag)'")
        return statement
    }

    private mutating func parseIf(at location: JinjaSourceLocation) throws(ChatTemplateError) -> JinjaStatement {
        var branches: [(test: JinjaExpression, body: [JinjaStatement])] = []
        var tag = "if"
        while true {
            let test = try parseTuple(allowConditional: false)
            let (body, endTag) = try parseBlockBody(
                tag: "if", at: location, endTags: ["elif", "else", "endif"], header: "the '\(tag)' condition")
            branches.append((test, body))
            switch endTag {
            case "elif":
                tag = "elif"
                continue
            case "else":
                let (otherwise, _) = try parseBlockBody(tag: "if", at: location, endTags: ["endif"], header: "'else'")
                return JinjaStatement(.conditional(branches, otherwise: otherwise), at: location)
            default:
                return JinjaStatement(.conditional(branches, otherwise: []), at: location)
            }
        }
    }

    private mutating func parseFor(at location: JinjaSourceLocation) throws(ChatTemplateError) -> JinjaStatement {
        let target = try parseAssignTarget(endNames: ["in"], allowNamespace: false)
        guard skip(name: "in") else { throw failure("expected 'in' after the loop variable, found \(current.kind.described)") }
        let iterable = try parseTuple(allowConditional: false, endNames: ["recursive"])
        var condition: JinjaExpression?
        if skip(name: "if") { condition = try parseExpression() }
        let isRecursive = skip(name: "recursive")
        enclosingLoops += 1
        let (body, endTag) = try parseBlockBody(tag: "for", at: location, endTags: ["endfor", "else"], header: "the 'for' header")
        enclosingLoops -= 1
        var otherwise: [JinjaStatement] = []
        if endTag == "else" {
            (otherwise, _) = try parseBlockBody(tag: "for", at: location, endTags: ["endfor"], header: "'else'")
        }
        let loop = JinjaLoopStatement(
            target: target, iterable: iterable, condition: condition, body: body, otherwise: otherwise, isRecursive: isRecursive)
        return JinjaStatement(.loop(loop), at: location)
    }

    private mutating func parseSet(at location: JinjaSourceLocation) throws(ChatTemplateError) -> JinjaStatement {
        let target = try parseAssignTarget(endNames: [], allowNamespace: true)
        if skip(operator: "=") {
            return JinjaStatement(.assign(target, try parseTuple()), at: location)
        }
        let filters = try parseFilterChain(startsInline: false)
        let (body, _) = try parseBlockBody(tag: "set", at: location, endTags: ["endset"], header: "the 'set' target")
        return JinjaStatement(.assignBlock(target, filters, body: body), at: location)
    }

    private mutating func parseMacro(at location: JinjaSourceLocation) throws(ChatTemplateError) -> JinjaStatement {
        let name = try expectName("after 'macro'")
        let parameters = try parseSignature()
        let outerLoops = enclosingLoops
        enclosingLoops = 0
        let (body, _) = try parseBlockBody(tag: "macro", at: location, endTags: ["endmacro"], header: "the macro signature")
        enclosingLoops = outerLoops
        return JinjaStatement(.macro(JinjaMacroDefinition(name: name, parameters: parameters, body: body)), at: location)
    }

    private mutating func parseCallBlock(at location: JinjaSourceLocation) throws(ChatTemplateError) -> JinjaStatement {
        let parameters = isOperator("(") ? try parseSignature() : []
        let call = try parseExpression()
        guard case .call = call.kind else { throw failure("expected a macro call after 'call'", at: call.location) }
        let outerLoops = enclosingLoops
        enclosingLoops = 0
        let (body, _) = try parseBlockBody(tag: "call", at: location, endTags: ["endcall"], header: "the call")
        enclosingLoops = outerLoops
        let caller = JinjaMacroDefinition(name: "caller", parameters: parameters, body: body)
        return JinjaStatement(.callBlock(caller: caller, call: call), at: location)
    }

    private mutating func parseFilterBlock(at location: JinjaSourceLocation) throws(ChatTemplateError) -> JinjaStatement {
        let filters = try parseFilterChain(startsInline: true)
        let (body, _) = try parseBlockBody(tag: "filter", at: location, endTags: ["endfilter"], header: "the filter")
        return JinjaStatement(.filterBlock(filters, body: body), at: location)
    }

    private mutating func parseWith(at location: JinjaSourceLocation) throws(ChatTemplateError) -> JinjaStatement {
        var assignments: [(JinjaTarget, JinjaExpression)] = []
        while !isBlockEnd {
            if !assignments.isEmpty { try expect(operator: ",", "between 'with' assignments") }
            let target = try parseAssignTarget(endNames: [], allowNamespace: false, allowTuple: false)
            try expect(operator: "=", "in a 'with' assignment")
            assignments.append((target, try parseExpression()))
        }
        let (body, _) = try parseBlockBody(tag: "with", at: location, endTags: ["endwith"], header: "'with'")
        return JinjaStatement(.with(assignments, body: body), at: location)
    }

    var isBlockEnd: Bool {
        if case .blockEnd = current.kind { return true }
        return false
    }

    /// `(a, b=default, …)` of a macro or call block.
    private mutating func parseSignature() throws(ChatTemplateError) -> [(name: String, defaultValue: JinjaExpression?)] {
        try expect(operator: "(", "to open the parameter list")
        var parameters: [(name: String, defaultValue: JinjaExpression?)] = []
        while !isOperator(")") {
            if !parameters.isEmpty { try expect(operator: ",", "between parameters") }
            let name = try expectName("as a parameter")
            if skip(operator: "=") {
                parameters.append((name, try parseExpression()))
            } else if parameters.contains(where: { $0.defaultValue != nil }) {
                throw failure("parameter '\(name)' without a default follows one with a default")
            } else {
                parameters.append((name, nil))
            }
        }
        advance()
        return parameters
    }

    /// `x`, `a, b`, `(a, b)` or (for `set`) `ns.attribute`.
    private mutating func parseAssignTarget(
        endNames: [String], allowNamespace: Bool, allowTuple: Bool = true
    ) throws(ChatTemplateError) -> JinjaTarget {
        func single(_ parser: inout JinjaParser) throws(ChatTemplateError) -> JinjaTarget {
            if parser.skip(operator: "(") {
                let inner = try parser.parseAssignTarget(endNames: [], allowNamespace: false)
                try parser.expect(operator: ")", "to close the target")
                return inner
            }
            let location = parser.current.location
            let name = try parser.expectName("as an assignment target")
            if ["true", "false", "none", "True", "False", "None"].contains(name) {
                throw parser.failure("cannot assign to '\(name)'", at: location)
            }
            if allowNamespace, parser.skip(operator: ".") {
                return .namespaceAttribute(name, try parser.expectName("after '.'"))
            }
            return .name(name)
        }
        let first = try single(&self)
        guard allowTuple, isOperator(",") else { return first }
        var targets = [first]
        while skip(operator: ",") {
            if isBlockEnd || isOperator(")") || endNames.contains(where: isName) || isOperator("=") { break }
            targets.append(try single(&self))
        }
        return .tuple(targets)
    }

    /// `| f(args) | g` after `set x` (or `f(args) | g` after `filter`).
    private mutating func parseFilterChain(startsInline: Bool) throws(ChatTemplateError) -> [JinjaFilterApplication] {
        var filters: [JinjaFilterApplication] = []
        var inline = startsInline
        while inline || skip(operator: "|") {
            inline = false
            let location = current.location
            let name = try parseDottedName("as a filter name")
            let arguments = isOperator("(") ? try parseArgumentList() : .empty
            filters.append(JinjaFilterApplication(name: try resolveFilter(name, at: location), arguments: arguments, location: location))
        }
        return filters
    }
}

extension JinjaTokenKind {
    /// How an error message names the token.
    var described: String {
        switch self {
        case .text: return "template text"
        case .variableBegin: return "'{{'"
        case .variableEnd: return "'}}'"
        case .blockBegin: return "'{%'"
        case .blockEnd: return "'%}'"
        case .name(let name): return "'\(name)'"
        case .string(let value): return "string '\(value)'"
        case .integer(let value): return "'\(value)'"
        case .float(let value): return "'\(value)'"
        case .op(let spelling): return "'\(spelling)'"
        case .endOfInput: return "the end of the template"
        }
    }
}
