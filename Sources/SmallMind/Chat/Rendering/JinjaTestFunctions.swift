/// The tests (`value is name(args)`): every test jinja2 ships.
enum JinjaTestName: Sendable {
    case odd, even, divisibleby, defined, undefined, filter, test, none, boolean, `false`, `true`
    case integer, float, lower, upper, string, mapping, number, sequence, iterable, callable, sameas, escaped
    case `in`
    case compare(JinjaComparison)

    private static let byName: [String: JinjaTestName] = [
        "odd": .odd, "even": .even, "divisibleby": .divisibleby, "defined": .defined, "undefined": .undefined,
        "filter": .filter, "test": .test, "none": .none, "boolean": .boolean, "false": .false, "true": .true,
        "integer": .integer, "float": .float, "lower": .lower, "upper": .upper, "string": .string,
        "mapping": .mapping, "number": .number, "sequence": .sequence, "iterable": .iterable,
        "callable": .callable, "sameas": .sameas, "escaped": .escaped, "in": .in,
        "==": .compare(.equal), "eq": .compare(.equal), "equalto": .compare(.equal),
        "!=": .compare(.notEqual), "ne": .compare(.notEqual),
        ">": .compare(.greater), "gt": .compare(.greater), "greaterthan": .compare(.greater),
        ">=": .compare(.greaterOrEqual), "ge": .compare(.greaterOrEqual),
        "<": .compare(.less), "lt": .compare(.less), "lessthan": .compare(.less),
        "<=": .compare(.lessOrEqual), "le": .compare(.lessOrEqual),
    ]

    init?(named name: String) {
        guard let test = Self.byName[name] else { return nil }
        self = test
    }
}

extension JinjaRenderer {
    func applyTest(_ test: JinjaTestName, to value: JinjaValue, _ arguments: JinjaArguments) throws(JinjaFailure) -> Bool {
        func noArguments() throws(JinjaFailure) { try arguments.requireNone("test") }
        func operand() throws(JinjaFailure) -> JinjaValue {
            guard let other = try arguments.bind(["other"], function: "test")[0] else {
                throw JinjaFailure("the test needs one argument")
            }
            return other
        }
        switch test {
        case .defined: try noArguments(); return !value.isUndefined
        case .undefined: try noArguments(); return value.isUndefined
        case .none: try noArguments(); return value.isNone
        case .boolean:
            try noArguments()
            if case .bool = value { return true }
            return false
        case .true:
            try noArguments()
            if case .bool(true) = value { return true }
            return false
        case .false:
            try noArguments()
            if case .bool(false) = value { return true }
            return false
        case .integer:
            try noArguments()
            if case .int = value { return true }
            return false
        case .float:
            try noArguments()
            if case .double = value { return true }
            return false
        case .number: try noArguments(); return value.isNumber
        case .string:
            try noArguments()
            if case .string = value { return true }
            return false
        case .mapping:
            try noArguments()
            if case .dictionary = value { return true }
            return false
        case .sequence, .iterable:
            try noArguments()
            switch value {
            case .undefined, .string, .list, .tuple, .dictionary: return true
            case .loop: return test == .iterable
            default: return false
            }
        case .callable:
            try noArguments()
            switch value {
            case .macro, .function, .method, .loop: return true
            default: return false
            }
        case .escaped: try noArguments(); return false
        case .lower: try noArguments(); return JinjaText.isAllCased(value.pythonString, upper: false)
        case .upper: try noArguments(); return JinjaText.isAllCased(value.pythonString, upper: true)
        case .odd, .even:
            try noArguments()
            let remainder = try JinjaOperations.binary(.modulo, value, .int(2))
            return JinjaOperations.equal(remainder, .int(test == .odd ? 1 : 0))
        case .divisibleby:
            return JinjaOperations.equal(try JinjaOperations.binary(.modulo, value, try operand()), .int(0))
        case .filter:
            try noArguments()
            guard case .string(let name) = value else { return false }
            return JinjaFilterName(named: name) != nil
        case .test:
            try noArguments()
            guard case .string(let name) = value else { return false }
            return JinjaTestName(named: name) != nil
        case .sameas:
            let other = try operand()
            switch (value, other) {
            case (.none, .none): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.int(let a), .int(let b)): return a == b
            case (.namespace(let a), .namespace(let b)): return a === b
            case (.macro(let a), .macro(let b)): return a === b
            case (.loop(let a), .loop(let b)): return a === b
            default: return false
            }
        case .in:
            return try JinjaOperations.contains(try operand(), value)
        case .compare(let comparison):
            return try JinjaOperations.compare(comparison, value, try operand())
        }
    }
}

extension JinjaTestName: Equatable {}
