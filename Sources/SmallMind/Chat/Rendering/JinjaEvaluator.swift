/// Expressions and calls: macros, the global functions, methods and recursive loops.
struct JinjaArguments {
    var positional: [JinjaValue] = []
    var keyword: [(name: String, value: JinjaValue)] = []

    /// Matches the arguments to a Python signature: one slot per parameter (nil when not given).
    func bind(_ parameters: [String], function: String) throws(JinjaFailure) -> [JinjaValue?] {
        guard positional.count <= parameters.count else {
            throw JinjaFailure("\(function)() takes at most \(parameters.count) argument\(parameters.count == 1 ? "" : "s") (\(positional.count) given)")
        }
        var slots: [JinjaValue?] = positional.map { $0 } + Array(repeating: nil, count: parameters.count - positional.count)
        for (name, value) in keyword {
            guard let index = parameters.firstIndex(of: name) else {
                throw JinjaFailure("\(function)() got an unexpected keyword argument '\(name)'")
            }
            guard slots[index] == nil else { throw JinjaFailure("\(function)() got multiple values for argument '\(name)'") }
            slots[index] = value
        }
        return slots
    }

    func requireNone(_ function: String) throws(JinjaFailure) {
        _ = try bind([], function: function)
    }
}

extension JinjaRenderer {
    func evaluate(_ expression: JinjaExpression, in scope: JinjaScope) throws(JinjaFailure) -> JinjaValue {
        do throws(JinjaFailure) {
            try enter()
            defer { leave() }
            return try evaluateHere(expression, in: scope)
        } catch {
            throw error.located(at: expression.location)
        }
    }

    /// One small function per kind: debug builds give every case of a switch its own stack
    /// slots, and this dispatcher sits in every level of recursion (macros calling macros).
    private func evaluateHere(_ expression: JinjaExpression, in scope: JinjaScope) throws(JinjaFailure) -> JinjaValue {
        switch expression.kind {
        case .constant(let constant): return .constant(constant)
        case .name(let name): return scope.lookup(name) ?? .undefined(name)
        case .list(let items): return .list(try evaluateAll(items, in: scope))
        case .tuple(let items): return .tuple(try evaluateAll(items, in: scope))
        case .dictionary(let pairs): return try evaluateDictionary(pairs, in: scope)
        case .attribute(let target, let name): return try JinjaAccess.attribute(try evaluate(target, in: scope), name)
        case .item(let target, let key): return try evaluateItem(target, key, in: scope)
        case .slice: throw JinjaFailure("a slice can only appear inside '[]'")
        case .unary(let operation, let operand): return try JinjaOperations.unary(operation, try evaluate(operand, in: scope))
        case .binary(let operation, let left, let right): return try evaluateBinary(operation, left, right, in: scope)
        case .and(let left, let right): return try evaluateLogical(left, right, isAnd: true, in: scope)
        case .or(let left, let right): return try evaluateLogical(left, right, isAnd: false, in: scope)
        case .concatenate(let parts): return try evaluateConcatenation(parts, in: scope)
        case .compare(let first, let operations): return try evaluateComparison(first, operations, in: scope)
        case .conditional(let test, let then, let otherwise):
            return try evaluateConditional(test, then, otherwise, at: expression.location, in: scope)
        case .call(let callee, let argumentList): return try evaluateCall(callee, argumentList, in: scope)
        case .filter(let target, let reference, let argumentList): return try evaluateFilter(target, reference, argumentList, in: scope)
        case .test(let target, let reference, let argumentList, let negated):
            return try evaluateTest(target, reference, argumentList, negated: negated, in: scope)
        }
    }

    private func evaluateAll(_ items: [JinjaExpression], in scope: JinjaScope) throws(JinjaFailure) -> [JinjaValue] {
        var values: [JinjaValue] = []
        values.reserveCapacity(items.count)
        for item in items { values.append(try evaluate(item, in: scope)) }
        return values
    }

    private func evaluateDictionary(
        _ pairs: [(key: JinjaExpression, value: JinjaExpression)], in scope: JinjaScope
    ) throws(JinjaFailure) -> JinjaValue {
        var dictionary = JinjaDictionary()
        for pair in pairs {
            let key = try evaluate(pair.key, in: scope)
            try dictionary.set(key, try evaluate(pair.value, in: scope))
        }
        return .dictionary(dictionary)
    }

    private func evaluateItem(_ target: JinjaExpression, _ key: JinjaExpression, in scope: JinjaScope) throws(JinjaFailure) -> JinjaValue {
        let value = try evaluate(target, in: scope)
        if case .slice(let start, let stop, let step) = key.kind {
            func part(_ expression: JinjaExpression?) throws(JinjaFailure) -> JinjaValue {
                guard let expression else { return .none }
                return try evaluate(expression, in: scope)
            }
            return try JinjaAccess.slice(value, start: try part(start), stop: try part(stop), step: try part(step))
        }
        return try JinjaAccess.item(value, try evaluate(key, in: scope))
    }

    private func evaluateBinary(
        _ operation: JinjaBinaryOperator, _ left: JinjaExpression, _ right: JinjaExpression, in scope: JinjaScope
    ) throws(JinjaFailure) -> JinjaValue {
        let leftValue = try evaluate(left, in: scope)
        return try JinjaOperations.binary(operation, leftValue, try evaluate(right, in: scope))
    }

    /// `and` / `or` return one of their operands, as Python's do.
    private func evaluateLogical(
        _ left: JinjaExpression, _ right: JinjaExpression, isAnd: Bool, in scope: JinjaScope
    ) throws(JinjaFailure) -> JinjaValue {
        let leftValue = try evaluate(left, in: scope)
        return leftValue.isTruthy == isAnd ? try evaluate(right, in: scope) : leftValue
    }

    private func evaluateConcatenation(_ parts: [JinjaExpression], in scope: JinjaScope) throws(JinjaFailure) -> JinjaValue {
        var text = ""
        for part in parts {
            text += try evaluate(part, in: scope).pythonString
            try JinjaOperations.checkSize(text.utf8.count)
        }
        return .string(text)
    }

    private func evaluateComparison(
        _ first: JinjaExpression, _ operations: [(JinjaComparison, JinjaExpression)], in scope: JinjaScope
    ) throws(JinjaFailure) -> JinjaValue {
        var left = try evaluate(first, in: scope)
        for (comparison, operand) in operations {
            let right = try evaluate(operand, in: scope)
            guard try JinjaOperations.compare(comparison, left, right) else { return .bool(false) }
            left = right
        }
        return .bool(true)
    }

    private func evaluateConditional(
        _ test: JinjaExpression, _ then: JinjaExpression, _ otherwise: JinjaExpression?, at location: JinjaSourceLocation,
        in scope: JinjaScope
    ) throws(JinjaFailure) -> JinjaValue {
        if try evaluate(test, in: scope).isTruthy { return try evaluate(then, in: scope) }
        if let otherwise { return try evaluate(otherwise, in: scope) }
        return .undefined(JinjaUndefined(.message(
            "the inline if-expression on line \(location.line) evaluated to false and no else section was defined.")))
    }

    private func evaluateCall(_ callee: JinjaExpression, _ argumentList: JinjaArgumentList, in scope: JinjaScope) throws(JinjaFailure) -> JinjaValue {
        let function = try evaluate(callee, in: scope)
        return try call(function, try evaluateArguments(argumentList, in: scope))
    }

    private func evaluateFilter(
        _ target: JinjaExpression, _ reference: JinjaFilterReference, _ argumentList: JinjaArgumentList, in scope: JinjaScope
    ) throws(JinjaFailure) -> JinjaValue {
        guard let filter = reference.filter else { throw JinjaFailure("No filter named '\(reference.name)' found.") }
        let value = try evaluate(target, in: scope)
        return try applyFilter(filter, to: value, try evaluateArguments(argumentList, in: scope))
    }

    private func evaluateTest(
        _ target: JinjaExpression, _ reference: JinjaTestReference, _ argumentList: JinjaArgumentList, negated: Bool,
        in scope: JinjaScope
    ) throws(JinjaFailure) -> JinjaValue {
        guard let test = reference.test else { throw JinjaFailure("No test named '\(reference.name)' found.") }
        let value = try evaluate(target, in: scope)
        let passed = try applyTest(test, to: value, try evaluateArguments(argumentList, in: scope))
        return .bool(passed != negated)
    }

    func evaluateArguments(_ list: JinjaArgumentList, in scope: JinjaScope) throws(JinjaFailure) -> JinjaArguments {
        var arguments = JinjaArguments()
        for argument in list.positional { arguments.positional.append(try evaluate(argument, in: scope)) }
        if let spread = list.spreadPositional {
            arguments.positional += try JinjaAccess.iterate(try evaluate(spread, in: scope))
        }
        for argument in list.keyword { arguments.keyword.append((argument.name, try evaluate(argument.value, in: scope))) }
        if let spread = list.spreadKeyword {
            guard case .dictionary(let dictionary) = try evaluate(spread, in: scope) else {
                throw JinjaFailure("argument after ** must be a mapping")
            }
            for (key, value) in dictionary.pairs {
                guard case .string(let name) = key else { throw JinjaFailure("keywords must be strings") }
                arguments.keyword.append((name, value))
            }
        }
        return arguments
    }

    // MARK: Calls

    func call(_ callee: JinjaValue, _ arguments: JinjaArguments) throws(JinjaFailure) -> JinjaValue {
        switch callee {
        case .macro(let macro):
            return try callMacro(macro, arguments)
        case .function(let function):
            return try callGlobal(function, arguments)
        case .method(let receiver, let name):
            return try callMethod(name, on: receiver, arguments)
        case .loop(let loop):
            guard let recursion = loop.recursion else {
                throw JinjaFailure("the loop must have the 'recursive' marker to be called recursively")
            }
            let iterable = try arguments.bind(["iterable"], function: "loop")[0] ?? .undefined("iterable")
            try enterCall()
            defer { callDepth -= 1 }
            let text = try capturing { () throws(JinjaFailure) in
                try executeLoop(recursion.statement, over: iterable, in: recursion.scope, depth0: loop.depth0 + 1)
            }
            return .string(text)
        case .undefined(let undefined):
            throw JinjaFailure(undefined)
        default:
            throw JinjaFailure("'\(callee.typeName)' object is not callable")
        }
    }

    private func callMacro(_ macro: JinjaMacro, _ arguments: JinjaArguments) throws(JinjaFailure) -> JinjaValue {
        try enterCall()
        defer { callDepth -= 1 }
        let definition = macro.definition
        guard let closure = macro.closure else { throw JinjaFailure("macro '\(macro.definition.name)' outlived its template") }
        let scope = JinjaScope(parent: closure)
        for argument in arguments.positional { try checkNesting(argument) }
        for argument in arguments.keyword { try checkNesting(argument.value) }
        var keywords = arguments.keyword
        for (index, parameter) in definition.parameters.enumerated() {
            if index < arguments.positional.count {
                if keywords.contains(where: { $0.name == parameter.name }) {
                    throw JinjaFailure("macro '\(definition.name)' got multiple values for argument '\(parameter.name)'")
                }
                scope.set(parameter.name, arguments.positional[index])
            } else if let given = keywords.firstIndex(where: { $0.name == parameter.name }) {
                scope.set(parameter.name, keywords.remove(at: given).value)
            } else if let defaultValue = parameter.defaultValue {
                scope.set(parameter.name, try evaluate(defaultValue, in: scope))
            } else {
                scope.set(parameter.name, .undefined(JinjaUndefined(.message("parameter '\(parameter.name)' was not provided"))))
            }
        }
        if let caller = keywords.firstIndex(where: { $0.name == "caller" }) {
            scope.set("caller", keywords.remove(at: caller).value)
        } else if !definition.parameters.contains(where: { $0.name == "caller" }) {
            scope.set("caller", .undefined(JinjaUndefined(.message("No caller defined"))))
        }
        let extra = Array(arguments.positional.dropFirst(definition.parameters.count))
        if definition.collectsExtraPositional {
            scope.set("varargs", .tuple(extra))
        } else if !extra.isEmpty {
            throw JinjaFailure("macro '\(definition.name)' takes not more than \(definition.parameters.count) argument(s)")
        }
        if definition.collectsExtraKeywords {
            var dictionary = JinjaDictionary()
            for (name, value) in keywords { dictionary.set(.string(name), value, hashKey: .string(name)) }
            scope.set("kwargs", .dictionary(dictionary))
        } else if let unexpected = keywords.first {
            throw JinjaFailure("macro '\(definition.name)' takes no keyword argument '\(unexpected.name)'")
        }
        return .string(try capture(definition.body, in: scope))
    }

    private func callGlobal(_ function: JinjaGlobalFunction, _ arguments: JinjaArguments) throws(JinjaFailure) -> JinjaValue {
        switch function {
        case .range:
            guard arguments.keyword.isEmpty, (1...3).contains(arguments.positional.count) else {
                throw JinjaFailure("range expected 1 to 3 integer arguments")
            }
            var bounds: [Int] = []
            for argument in arguments.positional {
                guard let integer = argument.integerValue else {
                    try JinjaOperations.failIfUndefined(argument)
                    throw JinjaFailure("'\(argument.typeName)' object cannot be interpreted as an integer")
                }
                bounds.append(integer)
            }
            let start = bounds.count == 1 ? 0 : bounds[0]
            let stop = bounds.count == 1 ? bounds[0] : bounds[1]
            let step = bounds.count == 3 ? bounds[2] : 1
            guard step != 0 else { throw JinjaFailure("range() arg 3 must not be zero") }
            let span = step > 0 ? stop.subtractingReportingOverflow(start) : start.subtractingReportingOverflow(stop)
            let stride = step.magnitude
            let count = span.overflow ? Int.max : span.partialValue <= 0 ? 0 : Int((UInt(span.partialValue) - 1) / stride) + 1
            guard count <= limits.maximumRange else {
                throw JinjaFailure("Range too big. The sandbox blocks ranges larger than MAX_RANGE (\(limits.maximumRange)).")
            }
            return .list((0..<count).map { .int(start + $0 * step) })
        case .dict:
            var dictionary = JinjaDictionary()
            guard arguments.positional.count <= 1 else { throw JinjaFailure("dict expected at most 1 argument, got \(arguments.positional.count)") }
            if let source = arguments.positional.first { dictionary = try Self.dictionary(from: source) }
            for (name, value) in arguments.keyword { dictionary.set(.string(name), value, hashKey: .string(name)) }
            return .dictionary(dictionary)
        case .namespace:
            let namespace = JinjaNamespace()
            namespaces.append(namespace)
            guard arguments.positional.count <= 1 else { throw JinjaFailure("namespace() takes at most 1 positional argument") }
            if let source = arguments.positional.first { namespace.attributes = try Self.dictionary(from: source) }
            for (name, value) in arguments.keyword { namespace.attributes.set(.string(name), value, hashKey: .string(name)) }
            return .namespace(namespace)
        case .raiseException:
            let message = try arguments.bind(["message"], function: "raise_exception")[0] ?? .string("")
            throw JinjaFailure(message.pythonString, kind: .raised)
        case .strftimeNow:
            guard case .string(let format) = try arguments.bind(["format"], function: "strftime_now")[0] ?? .none else {
                throw JinjaFailure("strftime_now() needs a format string")
            }
            return .string(JinjaStrftime.format(now(), format))
        }
    }

    /// `dict(x)` / `namespace(x)`: from a mapping or a list of pairs.
    static func dictionary(from value: JinjaValue) throws(JinjaFailure) -> JinjaDictionary {
        switch value {
        case .dictionary(let dictionary): return dictionary
        case .namespace(let namespace): return namespace.attributes
        default:
            var dictionary = JinjaDictionary()
            for pair in try JinjaAccess.iterate(value) {
                let items = try JinjaAccess.iterate(pair)
                guard items.count == 2 else { throw JinjaFailure("dictionary update sequence element has length \(items.count); 2 is required") }
                try dictionary.set(items[0], items[1])
            }
            return dictionary
        }
    }
}
