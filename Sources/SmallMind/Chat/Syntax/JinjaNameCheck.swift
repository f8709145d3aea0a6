/// jinja2's compile-time check of filter and test names: an unknown one is a load error, unless
/// it sits in an `if` statement (its condition or branches) or a conditional expression, where
/// jinja2 defers the error until the expression runs. Loops, macros, call, filter, `set` and
/// `with` blocks open a fresh frame in jinja2's compiler, so inside them the check applies again.
enum JinjaNameCheck {
    static func check(_ statements: [JinjaStatement], conditional: Bool) throws(ChatTemplateError) {
        for statement in statements { try check(statement, conditional: conditional) }
    }

    private static func failure(_ message: String, at location: JinjaSourceLocation) -> ChatTemplateError {
        ChatTemplateError(kind: .syntax, message: message, line: location.line, column: location.column)
    }

    private static func check(_ filters: [JinjaFilterApplication], conditional: Bool) throws(ChatTemplateError) {
        for filter in filters { try check(filter.arguments, conditional: conditional) }
    }

    private static func check(_ statement: JinjaStatement, conditional: Bool) throws(ChatTemplateError) {
        switch statement.kind {
        case .text, .breakLoop, .continueLoop:
            break
        case .output(let expression), .assign(_, let expression):
            try check(expression, conditional: conditional)
        case .conditional(let branches, let otherwise):
            for branch in branches {
                try check(branch.test, conditional: true)
                try check(branch.body, conditional: true)
            }
            try check(otherwise, conditional: true)
        case .loop(let loop):
            try check(loop.iterable, conditional: conditional)
            if let condition = loop.condition { try check(condition, conditional: false) }
            try check(loop.body, conditional: false)
            try check(loop.otherwise, conditional: false)
        case .assignBlock(_, let filters, let body), .filterBlock(let filters, let body):
            try check(filters, conditional: false)
            try check(body, conditional: false)
        case .macro(let definition):
            try check(definition, conditional: conditional)
        case .callBlock(let caller, let call):
            try check(call, conditional: conditional)
            try check(caller, conditional: conditional)
        case .with(let assignments, let body):
            for (_, value) in assignments { try check(value, conditional: conditional) }
            try check(body, conditional: false)
        case .group(let body):
            try check(body, conditional: false)
        }
    }

    private static func check(_ definition: JinjaMacroDefinition, conditional: Bool) throws(ChatTemplateError) {
        for parameter in definition.parameters {
            if let defaultValue = parameter.defaultValue { try check(defaultValue, conditional: false) }
        }
        try check(definition.body, conditional: false)
    }

    private static func check(_ arguments: JinjaArgumentList, conditional: Bool) throws(ChatTemplateError) {
        for argument in arguments.positional { try check(argument, conditional: conditional) }
        for argument in arguments.keyword { try check(argument.value, conditional: conditional) }
        if let spread = arguments.spreadPositional { try check(spread, conditional: conditional) }
        if let spread = arguments.spreadKeyword { try check(spread, conditional: conditional) }
    }

    private static func check(_ expression: JinjaExpression, conditional: Bool) throws(ChatTemplateError) {
        switch expression.kind {
        case .constant, .name:
            break
        case .list(let items), .tuple(let items), .concatenate(let items):
            for item in items { try check(item, conditional: conditional) }
        case .dictionary(let pairs):
            for pair in pairs {
                try check(pair.key, conditional: conditional)
                try check(pair.value, conditional: conditional)
            }
        case .attribute(let target, _), .unary(_, let target):
            try check(target, conditional: conditional)
        case .item(let target, let key):
            try check(target, conditional: conditional)
            try check(key, conditional: conditional)
        case .slice(let start, let stop, let step):
            for part in [start, stop, step] { if let part { try check(part, conditional: conditional) } }
        case .binary(_, let left, let right), .and(let left, let right), .or(let left, let right):
            try check(left, conditional: conditional)
            try check(right, conditional: conditional)
        case .compare(let first, let rest):
            try check(first, conditional: conditional)
            for (_, operand) in rest { try check(operand, conditional: conditional) }
        case .conditional(let test, let then, let otherwise):
            try check(test, conditional: true)
            try check(then, conditional: true)
            if let otherwise { try check(otherwise, conditional: true) }
        case .call(let callee, let arguments):
            try check(callee, conditional: conditional)
            try check(arguments, conditional: conditional)
        case .filter(let target, let reference, let arguments):
            if reference.filter == nil, !conditional {
                if JinjaFilterName.unsupportedJinjaFilters.contains(reference.name) {
                    throw failure("the filter '\(reference.name)' is not supported in chat templates", at: expression.location)
                }
                throw failure("no filter named '\(reference.name)'", at: expression.location)
            }
            try check(target, conditional: conditional)
            try check(arguments, conditional: conditional)
        case .test(let target, let reference, let arguments, _):
            if reference.test == nil, !conditional {
                throw failure("no test named '\(reference.name)'", at: expression.location)
            }
            try check(target, conditional: conditional)
            try check(arguments, conditional: conditional)
        }
    }
}
