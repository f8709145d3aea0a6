import Foundation

/// What several filters share: argument conversions, Python's int/float/round, jinja2's
/// attribute getter, sorting, and the map / select family.
extension JinjaRenderer {
    func optionalString(_ value: JinjaValue?, _ function: String) throws(JinjaFailure) -> String? {
        guard let value else { return nil }
        if case .none = value { return nil }
        guard case .string(let text) = value else { throw JinjaFailure("\(function)() arg must be None or str") }
        return text
    }

    func optionalInteger(_ value: JinjaValue?, _ function: String) throws(JinjaFailure) -> Int? {
        guard let value else { return nil }
        if case .none = value { return nil }
        guard let integer = value.integerValue else {
            throw JinjaFailure("'\(value.typeName)' object cannot be interpreted as an integer")
        }
        return integer
    }

    /// `int(value)` with jinja2's fallbacks: strings in the base (prefixes allowed with base 0 or
    /// the matching base), then through float (`"4.7"` is 4); nil when nothing works.
    func integer(_ value: JinjaValue, base: Int) -> JinjaValue? {
        if let integer = value.integerValue { return .int(integer) }
        if case .double(let number) = value {
            return number.isFinite && Swift.abs(number) < 9.2e18 ? .int(Int(number)) : nil
        }
        guard case .string(let raw) = value else { return nil }
        var text = JinjaText.strip(raw, characters: nil).replacingOccurrences(of: "_", with: "")
        var negative = false
        if text.hasPrefix("-") || text.hasPrefix("+") {
            negative = text.hasPrefix("-")
            text.removeFirst()
        }
        var radix = base
        let lowered = text.lowercased()
        for (prefix, prefixRadix) in [("0x", 16), ("0o", 8), ("0b", 2)] where lowered.hasPrefix(prefix) && (base == 0 || base == prefixRadix) {
            radix = prefixRadix
            text.removeFirst(2)
        }
        if radix == 0 { radix = 10 }
        if (2...36).contains(radix), !text.isEmpty, let parsed = Int(text, radix: radix) { return .int(negative ? -parsed : parsed) }
        if let number = Self.float(value), number.isFinite, Swift.abs(number) < 9.2e18 { return .int(Int(number)) }
        return nil
    }

    /// Python's `float(value)` for numbers and strings; nil when it would raise.
    static func float(_ value: JinjaValue) -> Double? {
        if let number = value.numberValue { return number }
        guard case .string(let raw) = value else { return nil }
        let text = JinjaText.strip(raw, characters: nil).replacingOccurrences(of: "_", with: "").lowercased()
        switch text {
        case "inf", "+inf", "infinity", "+infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        case "nan", "+nan", "-nan": return .nan
        default:
            guard !text.isEmpty, text.allSatisfy({ "0123456789.e+-".contains($0) }) else { return nil }
            return Double(text)
        }
    }

    func indent(_ value: JinjaValue, _ arguments: JinjaArguments) throws(JinjaFailure) -> JinjaValue {
        let slots = try arguments.bind(["width", "first", "blank"], function: "indent")
        let indentation: String
        switch slots[0] ?? .int(4) {
        case .string(let text): indentation = text
        case let width:
            guard let count = width.integerValue else { throw JinjaFailure("indent width must be a number or a string") }
            indentation = String(repeating: " ", count: min(Swift.max(count, 0), 1 << 16))
        }
        let text = value.pythonString + "\n"  // jinja2's quirk so splitlines keeps a trailing blank line
        var lines = JinjaText.splitLines(text)
        var result: String
        if slots[2]?.isTruthy ?? false {
            result = lines.joined(separator: "\n" + indentation)
        } else {
            result = lines.isEmpty ? "" : lines.removeFirst()
            if !lines.isEmpty {
                result += "\n" + lines.map { $0.isEmpty ? $0 : indentation + $0 }.joined(separator: "\n")
            }
        }
        if slots[1]?.isTruthy ?? false { result = indentation + result }
        try JinjaOperations.checkSize(result.utf8.count)
        return .string(result)
    }

    func round(_ value: JinjaValue, _ arguments: JinjaArguments) throws(JinjaFailure) -> JinjaValue {
        let slots = try arguments.bind(["precision", "method"], function: "round")
        let precision = try optionalInteger(slots[0], "round") ?? 0
        let method = slots[1]?.pythonString ?? "common"
        guard ["common", "ceil", "floor"].contains(method) else { throw JinjaFailure("method must be common, ceil or floor") }
        guard let number = value.numberValue else {
            try JinjaOperations.failIfUndefined(value)
            throw JinjaFailure("type \(value.typeName) doesn't define __round__ method")
        }
        let scale = Foundation.pow(10.0, Double(precision))
        if method == "ceil" { return .double(Foundation.ceil(number * scale) / scale) }
        if method == "floor" { return .double(Foundation.floor(number * scale) / scale) }
        // Python's round(): to the nearest, ties to even, on the exact binary value; an int
        // stays an int.
        let factor = Foundation.pow(10.0, Double(-precision))  // for negative precision: round to tens, hundreds …
        if let integer = value.integerValue, case .int = value {
            guard precision < 0 else { return .int(integer) }
            return .int(Int(exactly: (Double(integer) / factor).rounded(.toNearestOrEven) * factor) ?? integer)
        }
        guard number.isFinite else { return .double(number) }
        if precision >= 0 {
            return .double(Double(String(format: "%.*f", Swift.min(precision, 300), number)) ?? number)
        }
        return .double((number / factor).rounded(.toNearestOrEven) * factor)
    }

    /// Hugging Face's `tojson(ensure_ascii=False, indent=None, separators=None, sort_keys=False)`.
    func toJSON(_ value: JinjaValue, _ arguments: JinjaArguments) throws(JinjaFailure) -> JinjaValue {
        let slots = try arguments.bind(["ensure_ascii", "indent", "separators", "sort_keys"], function: "tojson")
        var encoder = JinjaJSON()
        encoder.ensureASCII = slots[0]?.isTruthy ?? false
        switch slots[1] ?? .none {
        case .none: break
        case .string(let text): encoder.indent = text
        case let width:
            guard let count = width.integerValue else { throw JinjaFailure("tojson indent must be a number or a string") }
            encoder.indent = String(repeating: " ", count: min(Swift.max(count, 0), 1 << 10))
            encoder.itemSeparator = ","
        }
        if encoder.indent != nil { encoder.itemSeparator = "," }
        if let separators = slots[2], !separators.isNone {
            let parts = try JinjaAccess.iterate(separators)
            guard parts.count == 2, case .string(let item) = parts[0], case .string(let key) = parts[1] else {
                throw JinjaFailure("tojson separators must be a pair of strings")
            }
            encoder.itemSeparator = item
            encoder.keySeparator = key
        }
        encoder.sortKeys = slots[3]?.isTruthy ?? false
        let text = try encoder.dumps(value)
        try JinjaOperations.checkSize(text.utf8.count)
        return .string(text)
    }

    /// jinja2's attribute getter for filters: dotted paths, item access first (`"a.0.b"`).
    func attributeGetter(_ attribute: JinjaValue, fallback: JinjaValue? = nil) -> (JinjaValue) throws(JinjaFailure) -> JinjaValue {
        let parts: [JinjaValue]
        if case .string(let path) = attribute {
            parts = path.split(separator: ".", omittingEmptySubsequences: false).map { part in
                part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber) && !part.isEmpty ? .int(Int(part) ?? 0) : .string(String(part))
            }
        } else {
            parts = [attribute]
        }
        return { (item: JinjaValue) throws(JinjaFailure) -> JinjaValue in
            var current = item
            for part in parts {
                current = try JinjaAccess.item(current, part)
                if let fallback, current.isUndefined { current = fallback }
            }
            return current
        }
    }

    static func ignoringCase(_ value: JinjaValue) -> JinjaValue {
        if case .string(let text) = value { return .string(text.lowercased()) }
        return value
    }

    func sortKeyGetter(attribute: JinjaValue?, caseSensitive: Bool) throws(JinjaFailure) -> (JinjaValue) throws(JinjaFailure) -> JinjaValue {
        let getter: ((JinjaValue) throws(JinjaFailure) -> JinjaValue)? = attribute.map { attributeGetter($0) }
        return { (item: JinjaValue) throws(JinjaFailure) -> JinjaValue in
            let key = try getter?(item) ?? item
            return caseSensitive ? key : Self.ignoringCase(key)
        }
    }

    /// A stable sort with Python's ordering (an error for values that do not compare).
    func sorted(
        _ items: [JinjaValue], key: (JinjaValue) throws(JinjaFailure) -> JinjaValue, reverse: Bool
    ) throws(JinjaFailure) -> [JinjaValue] {
        var keyed: [(key: JinjaValue, item: JinjaValue, position: Int)] = []
        for (position, item) in items.enumerated() { keyed.append((try key(item), item, position)) }
        var failure: JinjaFailure?
        keyed.sort { left, right in
            do throws(JinjaFailure) {
                if try JinjaOperations.less(left.key, right.key, operator: "<") { return !reverse }
                if try JinjaOperations.less(right.key, left.key, operator: "<") { return reverse }
            } catch {
                failure = error
            }
            return left.position < right.position
        }
        if let failure { throw failure }
        return keyed.map(\.item)
    }

    /// `map(attribute='x', default=…)` or `map('filter', args…)`.
    func mapItems(_ value: JinjaValue, _ arguments: JinjaArguments) throws(JinjaFailure) -> [JinjaValue] {
        let items = try JinjaAccess.iterate(value)
        if arguments.positional.isEmpty, let attribute = arguments.keyword.first(where: { $0.name == "attribute" })?.value {
            let fallback = arguments.keyword.first(where: { $0.name == "default" })?.value
            if let unexpected = arguments.keyword.first(where: { $0.name != "attribute" && $0.name != "default" }) {
                throw JinjaFailure("Unexpected keyword argument '\(unexpected.name)'")
            }
            let getter = attributeGetter(attribute, fallback: fallback)
            var result: [JinjaValue] = []
            for item in items { result.append(try getter(item)) }
            return result
        }
        guard case .string(let filterName)? = arguments.positional.first else {
            throw JinjaFailure("map requires a filter argument")
        }
        guard let filter = JinjaFilterName(named: filterName) else { throw JinjaFailure("No filter named '\(filterName)'.") }
        let rest = JinjaArguments(positional: Array(arguments.positional.dropFirst()), keyword: arguments.keyword)
        var result: [JinjaValue] = []
        for item in items { result.append(try applyFilter(filter, to: item, rest)) }
        return result
    }

    /// `select(test, args…)`, `reject`, `selectattr(attribute, test, args…)`, `rejectattr`; with no
    /// test, the value's truth.
    func selectItems(
        _ value: JinjaValue, _ arguments: JinjaArguments, byAttribute: Bool, keep: Bool
    ) throws(JinjaFailure) -> [JinjaValue] {
        guard value.isTruthy else { return [] }
        var positional = arguments.positional
        var getter: ((JinjaValue) throws(JinjaFailure) -> JinjaValue)?
        if byAttribute {
            guard !positional.isEmpty else { throw JinjaFailure("Missing parameter for attribute name") }
            getter = attributeGetter(positional.removeFirst())
        }
        var test: JinjaTestName?
        if !positional.isEmpty {
            let testName = positional.removeFirst().pythonString
            guard let resolved = JinjaTestName(named: testName) else { throw JinjaFailure("No test named '\(testName)'.") }
            test = resolved
        }
        let testArguments = JinjaArguments(positional: positional, keyword: arguments.keyword)
        var result: [JinjaValue] = []
        for item in try JinjaAccess.iterate(value) {
            let subject = try getter?(item) ?? item
            let passed = try test.map { (test) throws(JinjaFailure) -> Bool in try applyTest(test, to: subject, testArguments) } ?? subject.isTruthy
            if passed == keep { result.append(item) }
        }
        return result
    }
}
