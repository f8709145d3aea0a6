import Foundation

/// Python's operators on template values: equality, ordering, arithmetic and membership, with
/// Python's type errors. Integers are 64-bit: where Python would grow a big integer we raise an
/// overflow error instead.
enum JinjaOperations {
    /// Results larger than this (strings, lists) are refused, so a template cannot exhaust memory.
    static let maximumValueBytes = 16 << 20

    // MARK: Equality and ordering

    /// Python's `==`.
    static func equal(_ left: JinjaValue, _ right: JinjaValue) -> Bool {
        switch (left, right) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let a), .string(let b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case (.list(let a), .list(let b)), (.tuple(let a), .tuple(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { equal($0, $1) }
        case (.dictionary(let a), .dictionary(let b)):
            guard a.count == b.count else { return false }
            for (key, value) in a.pairs {
                guard let hashKey = try? JinjaHashKey(key), let other = b.value(for: hashKey), equal(value, other) else { return false }
            }
            return true
        case (.namespace(let a), .namespace(let b)): return a === b
        case (.macro(let a), .macro(let b)): return a === b
        case (.loop(let a), .loop(let b)): return a === b
        case (.function(let a), .function(let b)): return a == b
        default:
            if let a = left.integerValue, let b = right.integerValue { return a == b }
            if let a = left.numberValue, let b = right.numberValue { return a == b }
            return false
        }
    }

    /// Python's `<` (and, through it, `<=`, `>`, `>=`): numbers, strings by code point, lists
    /// and tuples item by item.
    static func less(_ left: JinjaValue, _ right: JinjaValue, operator spelling: String) throws(JinjaFailure) -> Bool {
        switch (left, right) {
        case (.string(let a), .string(let b)):
            return a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
        case (.list(let a), .list(let b)), (.tuple(let a), .tuple(let b)):
            for (x, y) in zip(a, b) where !equal(x, y) { return try less(x, y, operator: spelling) }
            return a.count < b.count
        default:
            if let a = left.integerValue, let b = right.integerValue { return a < b }
            if let a = left.numberValue, let b = right.numberValue { return a < b }
            try failIfUndefined(left, right)
            throw JinjaFailure("'\(spelling)' not supported between instances of '\(left.typeName)' and '\(right.typeName)'")
        }
    }

    static func compare(_ comparison: JinjaComparison, _ left: JinjaValue, _ right: JinjaValue) throws(JinjaFailure) -> Bool {
        switch comparison {
        case .equal: return equal(left, right)
        case .notEqual: return !equal(left, right)
        case .less: return try less(left, right, operator: "<")
        case .greater: return try less(right, left, operator: ">")
        case .lessOrEqual: return try !less(right, left, operator: "<=")
        case .greaterOrEqual: return try !less(left, right, operator: ">=")
        case .contains: return try contains(right, left)
        case .notContains: return try !contains(right, left)
        }
    }

    /// Python's `item in container`.
    static func contains(_ container: JinjaValue, _ item: JinjaValue) throws(JinjaFailure) -> Bool {
        switch container {
        case .string(let text):
            guard case .string(let needle) = item else {
                try failIfUndefined(item)
                throw JinjaFailure("'in <string>' requires string as left operand, not \(item.typeName)")
            }
            return needle.isEmpty || text.range(of: needle, options: .literal) != nil
        case .list(let items), .tuple(let items):
            return items.contains { equal($0, item) }
        case .dictionary(let dictionary):
            return dictionary.value(for: try JinjaHashKey(item)) != nil
        case .namespace(let namespace):
            return namespace.attributes.value(for: try JinjaHashKey(item)) != nil
        case .undefined:
            // jinja2's Undefined iterates as empty, so nothing is in it.
            return false
        default:
            throw JinjaFailure("argument of type '\(container.typeName)' is not iterable")
        }
    }

    static func failIfUndefined(_ values: JinjaValue...) throws(JinjaFailure) {
        for value in values { if case .undefined(let undefined) = value { throw JinjaFailure(undefined) } }
    }

    // MARK: Arithmetic

    static func unary(_ operation: JinjaUnaryOperator, _ value: JinjaValue) throws(JinjaFailure) -> JinjaValue {
        switch operation {
        case .not:
            return .bool(!value.isTruthy)
        case .plus:
            if let integer = value.integerValue { return .int(integer) }
            if case .double = value { return value }
        case .negate:
            if let integer = value.integerValue {
                guard integer != .min else { throw overflow }
                return .int(-integer)
            }
            if case .double(let double) = value { return .double(-double) }
        }
        try failIfUndefined(value)
        throw JinjaFailure("bad operand type for unary \(operation == .negate ? "-" : "+"): '\(value.typeName)'")
    }

    static let overflow = JinjaFailure("integer overflow: the result does not fit in 64 bits")

    static func binary(_ operation: JinjaBinaryOperator, _ left: JinjaValue, _ right: JinjaValue) throws(JinjaFailure) -> JinjaValue {
        if let a = left.integerValue, let b = right.integerValue { return try integerArithmetic(operation, a, b) }
        if let a = left.numberValue, let b = right.numberValue { return try floatArithmetic(operation, a, b) }
        switch (operation, left, right) {
        case (.add, .string(let a), .string(let b)):
            try checkSize(a.utf8.count + b.utf8.count)
            return .string(a + b)
        case (.add, .list(let a), .list(let b)):
            try checkSize(a.count + b.count, times: MemoryLayout<JinjaValue>.stride)
            return .list(a + b)
        case (.add, .tuple(let a), .tuple(let b)):
            try checkSize(a.count + b.count, times: MemoryLayout<JinjaValue>.stride)
            return .tuple(a + b)
        case (.multiply, .string(let text), _), (.multiply, _, .string(let text)):
            guard let count = (left.integerValue ?? right.integerValue) else { break }
            try checkSize(text.utf8.count, times: count)
            return .string(count > 0 ? String(repeating: text, count: count) : "")
        case (.multiply, .list(let items), _), (.multiply, _, .list(let items)):
            guard let count = (left.integerValue ?? right.integerValue) else { break }
            try checkSize(items.count * MemoryLayout<JinjaValue>.stride, times: count)
            return .list(count > 0 ? Array([[JinjaValue]](repeating: items, count: count).joined()) : [])
        case (.modulo, .string(let format), _):
            return .string(try JinjaFormatting.printf(format, right))
        default:
            break
        }
        try failIfUndefined(left, right)
        if operation == .add, case .string = left {
            throw JinjaFailure("can only concatenate str (not \"\(right.typeName)\") to str")
        }
        if operation == .add, case .list = left {
            throw JinjaFailure("can only concatenate list (not \"\(right.typeName)\") to list")
        }
        throw JinjaFailure("unsupported operand type(s) for \(operation.rawValue): '\(left.typeName)' and '\(right.typeName)'")
    }

    /// `bytes × count` (a repetition), without overflowing.
    static func checkSize(_ bytes: Int, times count: Int) throws(JinjaFailure) {
        let product = bytes.multipliedReportingOverflow(by: max(0, count))
        try checkSize(product.overflow ? .max : product.partialValue)
    }

    static func checkSize(_ bytes: Int) throws(JinjaFailure) {
        if bytes > maximumValueBytes {
            throw JinjaFailure("a value would grow past \(maximumValueBytes >> 20) MiB, the limit for a chat template")
        }
    }

    private static func integerArithmetic(_ operation: JinjaBinaryOperator, _ a: Int, _ b: Int) throws(JinjaFailure) -> JinjaValue {
        func checked(_ result: (partialValue: Int, overflow: Bool)) throws(JinjaFailure) -> JinjaValue {
            if result.overflow { throw overflow }
            return .int(result.partialValue)
        }
        switch operation {
        case .add: return try checked(a.addingReportingOverflow(b))
        case .subtract: return try checked(a.subtractingReportingOverflow(b))
        case .multiply: return try checked(a.multipliedReportingOverflow(by: b))
        case .divide:
            guard b != 0 else { throw JinjaFailure("division by zero") }
            return .double(Double(a) / Double(b))
        case .floorDivide, .modulo:
            guard b != 0 else {
                throw JinjaFailure(operation == .modulo ? "integer modulo by zero" : "integer division or modulo by zero")
            }
            guard !(a == .min && b == -1) else { throw overflow }
            var quotient = a / b
            var remainder = a % b
            if remainder != 0, (remainder < 0) != (b < 0) {
                quotient -= 1
                remainder += b
            }
            return .int(operation == .floorDivide ? quotient : remainder)
        case .power:
            if b < 0 {
                guard a != 0 else { throw JinjaFailure("0.0 cannot be raised to a negative power") }
                return .double(Foundation.pow(Double(a), Double(b)))
            }
            var result = 1
            var base = a
            var exponent = b
            while exponent > 0 {
                if exponent & 1 == 1 { result = try checked(result.multipliedReportingOverflow(by: base)).integerValue ?? 0 }
                exponent >>= 1
                if exponent > 0 { base = try checked(base.multipliedReportingOverflow(by: base)).integerValue ?? 0 }
            }
            return .int(result)
        }
    }

    private static func floatArithmetic(_ operation: JinjaBinaryOperator, _ a: Double, _ b: Double) throws(JinjaFailure) -> JinjaValue {
        switch operation {
        case .add: return .double(a + b)
        case .subtract: return .double(a - b)
        case .multiply: return .double(a * b)
        case .divide:
            guard b != 0 else { throw JinjaFailure("float division by zero") }
            return .double(a / b)
        case .floorDivide:
            guard b != 0 else { throw JinjaFailure("float floor division by zero") }
            return .double(Foundation.floor(a / b))
        case .modulo:
            guard b != 0 else { throw JinjaFailure("float modulo") }
            var remainder = fmod(a, b)
            if remainder != 0, (remainder < 0) != (b < 0) { remainder += b }
            return .double(remainder)
        case .power:
            if a == 0, b < 0 { throw JinjaFailure("0.0 cannot be raised to a negative power") }
            return .double(Foundation.pow(a, b))
        }
    }
}
