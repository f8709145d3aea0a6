/// jinja2's expression grammar, loosest binding first:
///
///     tuple      := expression ("," expression)*
///     expression := or ("if" or ("else" expression)?)*
///     or := and ("or" and)*        and := not ("and" not)*        not := "not" not | compare
///     compare    := math1 (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in") math1)*
///     math1 := concat (("+" | "-") concat)*      concat := math2 ("~" math2)*
///     math2 := pow (("*" | "/" | "//" | "%") pow)*      pow := unary ("**" unary)*
///     unary := ("-" | "+") unary-without-filters | primary postfix* (filter | test | call)*
///
/// Filters bind tighter than arithmetic (`a + b | trim` trims b only) and a sign binds tighter
/// than `**` (`-2 ** 2` is 4), as in jinja2.
extension JinjaParser {
    var isTupleEnd: Bool {
        switch current.kind {
        case .variableEnd, .blockEnd, .op(")"): return true
        default: return false
        }
    }

    /// Expressions separated by commas make a tuple; one without a comma is itself.
    mutating func parseTuple(
        allowConditional: Bool = true, endNames: [String] = [], explicitParentheses: Bool = false
    ) throws(ChatTemplateError) -> JinjaExpression {
        let location = current.location
        var items: [JinjaExpression] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expect(operator: ",", "between tuple items") }
            if isTupleEnd || endNames.contains(where: isName) { break }
            items.append(try parseExpression(allowConditional: allowConditional))
            if isOperator(",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let only = items.first { return only }
            if !explicitParentheses { throw failure("expected an expression, found \(current.kind.described)") }
        }
        return JinjaExpression(.tuple(items), at: location)
    }

    mutating func parseExpression(allowConditional: Bool = true) throws(ChatTemplateError) -> JinjaExpression {
        try enterNesting()
        defer { nesting -= 1 }
        return allowConditional ? try parseConditional() : try parseOr()
    }

    private mutating func parseConditional() throws(ChatTemplateError) -> JinjaExpression {
        var expression = try parseOr()
        while isName("if") {
            let location = current.location
            advance()
            let test = try parseOr()
            let otherwise = skip(name: "else") ? try parseConditional() : nil
            expression = JinjaExpression(.conditional(test: test, then: expression, otherwise: otherwise), at: location)
        }
        return expression
    }

    private mutating func parseOr() throws(ChatTemplateError) -> JinjaExpression {
        var left = try parseAnd()
        while isName("or") {
            let location = current.location
            advance()
            left = JinjaExpression(.or(left, try parseAnd()), at: location)
        }
        return left
    }

    private mutating func parseAnd() throws(ChatTemplateError) -> JinjaExpression {
        var left = try parseNot()
        while isName("and") {
            let location = current.location
            advance()
            left = JinjaExpression(.and(left, try parseNot()), at: location)
        }
        return left
    }

    private mutating func parseNot() throws(ChatTemplateError) -> JinjaExpression {
        guard isName("not") else { return try parseCompare() }
        let location = current.location
        advance()
        try enterNesting()
        defer { nesting -= 1 }
        return JinjaExpression(.unary(.not, try parseNot()), at: location)
    }

    private mutating func parseCompare() throws(ChatTemplateError) -> JinjaExpression {
        let first = try parseMath1()
        var operations: [(JinjaComparison, JinjaExpression)] = []
        while true {
            let comparison: JinjaComparison
            switch current.kind {
            case .op(let spelling) where ["==", "!=", "<", "<=", ">", ">="].contains(spelling):
                comparison = JinjaComparison(rawValue: spelling) ?? .equal
                advance()
            case .name("in"):
                comparison = .contains
                advance()
            case .name("not") where next.kind == .name("in"):
                comparison = .notContains
                advance()
                advance()
            default:
                return operations.isEmpty ? first : JinjaExpression(.compare(first, operations), at: first.location)
            }
            operations.append((comparison, try parseMath1()))
        }
    }

    private mutating func parseMath1() throws(ChatTemplateError) -> JinjaExpression {
        var left = try parseConcat()
        while true {
            let operation: JinjaBinaryOperator
            if isOperator("+") { operation = .add } else if isOperator("-") { operation = .subtract } else { return left }
            let location = current.location
            advance()
            left = JinjaExpression(.binary(operation, left, try parseConcat()), at: location)
        }
    }

    private mutating func parseConcat() throws(ChatTemplateError) -> JinjaExpression {
        let first = try parseMath2()
        guard isOperator("~") else { return first }
        var parts = [first]
        while skip(operator: "~") { parts.append(try parseMath2()) }
        return JinjaExpression(.concatenate(parts), at: first.location)
    }

    private mutating func parseMath2() throws(ChatTemplateError) -> JinjaExpression {
        var left = try parsePower()
        while true {
            let operation: JinjaBinaryOperator
            switch current.kind {
            case .op("*"): operation = .multiply
            case .op("/"): operation = .divide
            case .op("//"): operation = .floorDivide
            case .op("%"): operation = .modulo
            default: return left
            }
            let location = current.location
            advance()
            left = JinjaExpression(.binary(operation, left, try parsePower()), at: location)
        }
    }

    private mutating func parsePower() throws(ChatTemplateError) -> JinjaExpression {
        var left = try parseUnary()
        while isOperator("**") {
            let location = current.location
            advance()
            left = JinjaExpression(.binary(.power, left, try parseUnary()), at: location)
        }
        return left
    }

    private mutating func parseUnary(withFilters: Bool = true) throws(ChatTemplateError) -> JinjaExpression {
        let location = current.location
        var expression: JinjaExpression
        if isOperator("-") || isOperator("+") {
            let operation: JinjaUnaryOperator = isOperator("-") ? .negate : .plus
            advance()
            try enterNesting()
            let operand = try parseUnary(withFilters: false)
            nesting -= 1
            expression = JinjaExpression(.unary(operation, operand), at: location)
        } else {
            expression = try parsePrimary()
        }
        expression = try parsePostfix(expression)
        if withFilters { expression = try parseFiltersAndTests(expression) }
        return expression
    }

    mutating func parsePrimary() throws(ChatTemplateError) -> JinjaExpression {
        let token = current
        switch token.kind {
        case .name(let name):
            advance()
            switch name {
            case "true", "True": return JinjaExpression(.constant(.bool(true)), at: token.location)
            case "false", "False": return JinjaExpression(.constant(.bool(false)), at: token.location)
            case "none", "None": return JinjaExpression(.constant(.none), at: token.location)
            default: return JinjaExpression(.name(name), at: token.location)
            }
        case .string(var value):
            advance()
            // Adjacent string literals join, as in Python.
            while case .string(let more) = current.kind {
                value += more
                advance()
            }
            return JinjaExpression(.constant(.string(value)), at: token.location)
        case .integer(let value):
            advance()
            return JinjaExpression(.constant(.int(value)), at: token.location)
        case .float(let value):
            advance()
            return JinjaExpression(.constant(.double(value)), at: token.location)
        case .op("("):
            advance()
            let inner = try parseTuple(explicitParentheses: true)
            try expect(operator: ")", "to close '(' at line \(token.location.line), column \(token.location.column)")
            return inner
        case .op("["):
            advance()
            var items: [JinjaExpression] = []
            while !isOperator("]") {
                if !items.isEmpty { try expect(operator: ",", "between list items") }
                if isOperator("]") { break }
                items.append(try parseExpression())
            }
            advance()
            return JinjaExpression(.list(items), at: token.location)
        case .op("{"):
            advance()
            var pairs: [(key: JinjaExpression, value: JinjaExpression)] = []
            while !isOperator("}") {
                if !pairs.isEmpty { try expect(operator: ",", "between dictionary items") }
                if isOperator("}") { break }
                let key = try parseExpression()
                try expect(operator: ":", "after a dictionary key")
                pairs.append((key, try parseExpression()))
            }
            advance()
            return JinjaExpression(.dictionary(pairs), at: token.location)
        default:
            throw failure("unexpected \(token.kind.described), expected an expression")
        }
    }

    private mutating func parsePostfix(_ base: JinjaExpression) throws(ChatTemplateError) -> JinjaExpression {
        var expression = base
        while true {
            if isOperator(".") || isOperator("[") {
                expression = try parseSubscript(expression)
            } else if isOperator("(") {
                let location = current.location
                expression = JinjaExpression(.call(expression, try parseArgumentList()), at: location)
            } else {
                return expression
            }
        }
    }

    private mutating func parseFiltersAndTests(_ base: JinjaExpression) throws(ChatTemplateError) -> JinjaExpression {
        var expression = base
        while true {
            if isOperator("|") {
                advance()
                let location = current.location
                let name = try parseDottedName("as a filter name after '|'")
                let arguments = isOperator("(") ? try parseArgumentList() : .empty
                let reference = JinjaFilterReference(name: name, filter: JinjaFilterName(named: name))
                expression = JinjaExpression(.filter(expression, reference, arguments), at: location)
            } else if isName("is") {
                expression = try parseTest(expression)
            } else if isOperator("(") {
                let location = current.location
                expression = JinjaExpression(.call(expression, try parseArgumentList()), at: location)
            } else {
                return expression
            }
        }
    }

    private mutating func parseTest(_ subject: JinjaExpression) throws(ChatTemplateError) -> JinjaExpression {
        let location = current.location
        advance()  // is
        let negated = skip(name: "not")
        let name = try parseDottedName("as a test name after 'is'")
        let test = JinjaTestReference(name: name, test: JinjaTestName(named: name))
        var arguments = JinjaArgumentList.empty
        if isOperator("(") {
            arguments = try parseArgumentList()
        } else if startsTestArgument {
            if isName("is") { throw failure("tests cannot be chained with 'is'") }
            arguments.positional = [try parsePostfix(try parsePrimary())]
        }
        return JinjaExpression(.test(subject, test, arguments, negated: negated), at: location)
    }

    /// jinja2 takes one argument without parentheses (`x is divisibleby 3`) when a name or
    /// literal follows, except `else`, `or` and `and`.
    private var startsTestArgument: Bool {
        switch current.kind {
        case .name(let name): return !["else", "or", "and"].contains(name)
        case .string, .integer, .float, .op("["), .op("{"): return true
        default: return false
        }
    }

    private mutating func parseSubscript(_ target: JinjaExpression) throws(ChatTemplateError) -> JinjaExpression {
        let location = current.location
        if skip(operator: ".") {
            switch current.kind {
            case .name(let name):
                advance()
                return JinjaExpression(.attribute(target, name), at: location)
            case .integer(let index):
                advance()
                return JinjaExpression(.item(target, JinjaExpression(.constant(.int(index)), at: location)), at: location)
            default:
                throw failure("expected a name or a number after '.', found \(current.kind.described)")
            }
        }
        try expect(operator: "[", "to start a subscript")
        var keys: [JinjaExpression] = []
        while !isOperator("]") {
            if !keys.isEmpty { try expect(operator: ",", "between subscripts") }
            keys.append(try parseSubscribed())
        }
        advance()
        guard let first = keys.first else { throw failure("expected a subscript inside '[]'", at: location) }
        let key = keys.count == 1 ? first : JinjaExpression(.tuple(keys), at: location)
        return JinjaExpression(.item(target, key), at: location)
    }

    /// An index or a slice `start:stop:step` (each part optional).
    private mutating func parseSubscribed() throws(ChatTemplateError) -> JinjaExpression {
        let location = current.location
        var start: JinjaExpression?
        if !isOperator(":") {
            let expression = try parseExpression()
            guard isOperator(":") else { return expression }
            start = expression
        }
        advance()  // the first colon
        var stop: JinjaExpression?
        if !isOperator(":"), !isOperator("]"), !isOperator(",") { stop = try parseExpression() }
        var step: JinjaExpression?
        if skip(operator: ":"), !isOperator("]"), !isOperator(",") { step = try parseExpression() }
        return JinjaExpression(.slice(start: start, stop: stop, step: step), at: location)
    }

    mutating func parseArgumentList() throws(ChatTemplateError) -> JinjaArgumentList {
        let open = current.location
        try expect(operator: "(", "to open the arguments")
        var arguments = JinjaArgumentList()
        var needsComma = false
        func ensure(_ condition: Bool, _ parser: JinjaParser) throws(ChatTemplateError) {
            if !condition { throw parser.failure("invalid syntax for a call: positional argument after keyword argument", at: open) }
        }
        while !isOperator(")") {
            if needsComma {
                try expect(operator: ",", "between arguments")
                if isOperator(")") { break }
            }
            if skip(operator: "*") {
                try ensure(arguments.spreadPositional == nil && arguments.spreadKeyword == nil, self)
                arguments.spreadPositional = try parseExpression()
            } else if skip(operator: "**") {
                try ensure(arguments.spreadKeyword == nil, self)
                arguments.spreadKeyword = try parseExpression()
            } else if case .name(let name) = current.kind, next.kind == .op("=") {
                try ensure(arguments.spreadKeyword == nil, self)
                advance()
                advance()
                arguments.keyword.append((name, try parseExpression()))
            } else {
                try ensure(arguments.spreadPositional == nil && arguments.spreadKeyword == nil && arguments.keyword.isEmpty, self)
                arguments.positional.append(try parseExpression())
            }
            needsComma = true
        }
        advance()
        return arguments
    }

    mutating func parseDottedName(_ context: String) throws(ChatTemplateError) -> String {
        var name = try expectName(context)
        while skip(operator: ".") { name += "." + (try expectName("after '.'")) }
        return name
    }

    func resolveFilter(_ name: String, at location: JinjaSourceLocation) throws(ChatTemplateError) -> JinjaFilterName {
        if let filter = JinjaFilterName(named: name) { return filter }
        if JinjaFilterName.unsupportedJinjaFilters.contains(name) {
            throw failure("the filter '\(name)' is not supported in chat templates", at: location)
        }
        throw failure("no filter named '\(name)'", at: location)
    }

}
