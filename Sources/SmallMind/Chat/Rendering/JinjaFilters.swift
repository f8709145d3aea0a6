import Foundation

/// The filters (`value | name(args)`) chat templates use, with jinja2's parameter names and
/// behaviour. Filters that return generators in jinja2 (`map`, `select`, `unique`, `items` …)
/// return lists here: they loop, join and test the same, and print as lists.
enum JinjaFilterName: String, Sendable {
    case abs, attr, batch, capitalize, center, count, d, `default`, dictsort, e, escape, first, float
    case forceescape, format, indent, int, items, join, last, length, list, lower, map, max, min
    case reject, rejectattr, replace, reverse, round, safe, select, selectattr, sort, string, sum
    case title, tojson, trim, unique, upper, wordcount

    init?(named name: String) { self.init(rawValue: name) }

    /// jinja2 filters this engine leaves out (none appears in published chat templates).
    static let unsupportedJinjaFilters: Set<String> = [
        "filesizeformat", "groupby", "pprint", "random", "slice", "striptags", "truncate", "urlencode", "urlize",
        "wordwrap", "xmlattr",
    ]
}

extension JinjaRenderer {
    func applyFilter(_ filter: JinjaFilterName, to value: JinjaValue, _ arguments: JinjaArguments) throws(JinjaFailure) -> JinjaValue {
        let name = filter.rawValue
        switch filter {
        case .default, .d:
            let slots = try arguments.bind(["default_value", "boolean"], function: name)
            let useDefault = value.isUndefined || ((slots[1]?.isTruthy ?? false) && !value.isTruthy)
            return useDefault ? (slots[0] ?? .string("")) : value
        case .length, .count:
            try arguments.requireNone(name)
            return .int(try JinjaAccess.length(value))
        case .string:
            try arguments.requireNone(name)
            return .string(value.pythonString)
        case .safe:
            try arguments.requireNone(name)
            return .string(value.pythonString)
        case .escape, .e, .forceescape:
            try arguments.requireNone(name)
            return .string(JinjaText.escapeHTML(value.pythonString))
        case .upper:
            try arguments.requireNone(name)
            return .string(value.pythonString.uppercased())
        case .lower:
            try arguments.requireNone(name)
            return .string(value.pythonString.lowercased())
        case .title:
            try arguments.requireNone(name)
            return .string(JinjaText.jinjaTitle(value.pythonString))
        case .capitalize:
            try arguments.requireNone(name)
            return .string(JinjaText.capitalize(value.pythonString))
        case .trim:
            let chars = try arguments.bind(["chars"], function: name)[0]
            return .string(JinjaText.strip(value.pythonString, characters: try optionalString(chars, "trim")))
        case .replace:
            let slots = try arguments.bind(["old", "new", "count"], function: name)
            guard let old = slots[0], let new = slots[1] else { throw JinjaFailure("replace() needs the old and new strings") }
            let count = try optionalInteger(slots[2], "replace") ?? -1
            let result = JinjaText.replace(value.pythonString, old.pythonString, new.pythonString, count: count)
            try JinjaOperations.checkSize(result.utf8.count)
            return .string(result)
        case .center:
            let width = try optionalInteger(try arguments.bind(["width"], function: name)[0], name) ?? 80
            return .string(JinjaText.pad(value.pythonString, width: width, alignment: "center"))
        case .wordcount:
            try arguments.requireNone(name)
            var words = 0
            var inWord = false
            for scalar in value.pythonString.unicodeScalars {
                let isWordCharacter = scalar == "_" || scalar.properties.isAlphabetic || scalar.properties.numericType != nil
                if isWordCharacter, !inWord { words += 1 }
                inWord = isWordCharacter
            }
            return .int(words)
        case .indent:
            return try indent(value, arguments)
        case .format:
            guard case .string(let format) = value else { throw JinjaFailure("format filter needs a string") }
            if !arguments.positional.isEmpty, !arguments.keyword.isEmpty {
                throw JinjaFailure("can't handle positional and keyword arguments at the same time")
            }
            if arguments.keyword.isEmpty { return .string(try JinjaFormatting.printf(format, .tuple(arguments.positional))) }
            var mapping = JinjaDictionary()
            for (key, item) in arguments.keyword { mapping.set(.string(key), item, hashKey: .string(key)) }
            return .string(try JinjaFormatting.printf(format, .dictionary(mapping)))
        case .int:
            let slots = try arguments.bind(["default", "base"], function: name)
            return integer(value, base: try optionalInteger(slots[1], name) ?? 10) ?? slots[0] ?? .int(0)
        case .float:
            let fallback = try arguments.bind(["default"], function: name)[0] ?? .double(0)
            return Self.float(value).map(JinjaValue.double) ?? fallback
        case .abs:
            try arguments.requireNone(name)
            if let integer = value.integerValue {
                guard integer != .min else { throw JinjaOperations.overflow }
                return .int(Swift.abs(integer))
            }
            if case .double(let number) = value { return .double(Swift.abs(number)) }
            try JinjaOperations.failIfUndefined(value)
            throw JinjaFailure("bad operand type for abs(): '\(value.typeName)'")
        case .round:
            return try round(value, arguments)
        case .tojson:
            return try toJSON(value, arguments)
        case .list:
            try arguments.requireNone(name)
            return .list(try JinjaAccess.iterate(value))
        case .items:
            try arguments.requireNone(name)
            if value.isUndefined { return .list([]) }
            guard case .dictionary(let dictionary) = value else { throw JinjaFailure("Can only get item pairs from a mapping.") }
            return .list(dictionary.pairs.map { .tuple([$0, $1]) })
        case .first:
            try arguments.requireNone(name)
            return try JinjaAccess.iterate(value).first
                ?? .undefined(JinjaUndefined(.message("No first item, sequence was empty.")))
        case .last:
            try arguments.requireNone(name)
            return try JinjaAccess.iterate(value).last
                ?? .undefined(JinjaUndefined(.message("No last item, sequence was empty.")))
        case .reverse:
            try arguments.requireNone(name)
            if case .string(let text) = value { return .string(String(String.UnicodeScalarView(text.unicodeScalars.reversed()))) }
            return .list(try JinjaAccess.iterate(value).reversed())
        case .join:
            let slots = try arguments.bind(["d", "attribute"], function: name)
            var items = try JinjaAccess.iterate(value)
            if let attribute = slots[1] { items = try items.map(attributeGetter(attribute)) }
            let separator = slots[0]?.pythonString ?? ""
            var result = ""
            for (index, item) in items.enumerated() {
                if index > 0 { result += separator }
                result += item.pythonString
                try JinjaOperations.checkSize(result.utf8.count)
            }
            return .string(result)
        case .attr:
            guard case .string(let attribute) = try arguments.bind(["name"], function: name)[0] ?? .none else {
                throw JinjaFailure("attr() needs an attribute name")
            }
            if case .dictionary = value, !JinjaAccess.dictionaryMethods.contains(attribute) {
                return .undefined(JinjaUndefined(.attribute(owner: value.objectDescription, name: attribute)))
            }
            return try JinjaAccess.attribute(value, attribute)
        case .map:
            return .list(try mapItems(value, arguments))
        case .select, .reject, .selectattr, .rejectattr:
            let keep = filter == .select || filter == .selectattr
            return .list(try selectItems(value, arguments, byAttribute: filter == .selectattr || filter == .rejectattr, keep: keep))
        case .unique:
            let slots = try arguments.bind(["case_sensitive", "attribute"], function: name)
            let key = try sortKeyGetter(attribute: slots[1], caseSensitive: slots[0]?.isTruthy ?? false)
            var seen: [JinjaValue] = []
            var result: [JinjaValue] = []
            for item in try JinjaAccess.iterate(value) {
                let itemKey = try key(item)
                if !seen.contains(where: { JinjaOperations.equal($0, itemKey) }) {
                    seen.append(itemKey)
                    result.append(item)
                }
            }
            return .list(result)
        case .sort:
            let slots = try arguments.bind(["reverse", "case_sensitive", "attribute"], function: name)
            let key = try sortKeyGetter(attribute: slots[2], caseSensitive: slots[1]?.isTruthy ?? false)
            return .list(try sorted(try JinjaAccess.iterate(value), key: key, reverse: slots[0]?.isTruthy ?? false))
        case .dictsort:
            let slots = try arguments.bind(["case_sensitive", "by", "reverse"], function: name)
            guard case .dictionary(let dictionary) = value else { throw JinjaFailure("dictsort needs a mapping") }
            let byValue: Bool
            switch slots[1]?.pythonString ?? "key" {
            case "key": byValue = false
            case "value": byValue = true
            default: throw JinjaFailure("You can only sort by either \"key\" or \"value\"")
            }
            let caseSensitive = slots[0]?.isTruthy ?? false
            let pairs = dictionary.pairs.map { JinjaValue.tuple([$0, $1]) }
            return .list(try sorted(pairs, key: { (pair: JinjaValue) throws(JinjaFailure) -> JinjaValue in
                guard case .tuple(let parts) = pair else { return pair }
                let part = parts[byValue ? 1 : 0]
                return caseSensitive ? part : Self.ignoringCase(part)
            }, reverse: slots[2]?.isTruthy ?? false))
        case .min, .max:
            let slots = try arguments.bind(["case_sensitive", "attribute"], function: name)
            let key = try sortKeyGetter(attribute: slots[1], caseSensitive: slots[0]?.isTruthy ?? false)
            let items = try JinjaAccess.iterate(value)
            guard var best = items.first else {
                return .undefined(JinjaUndefined(.message("No aggregated item, sequence was empty.")))
            }
            var bestKey = try key(best)
            for item in items.dropFirst() {
                let itemKey = try key(item)
                let better = filter == .min
                    ? try JinjaOperations.less(itemKey, bestKey, operator: "<")
                    : try JinjaOperations.less(bestKey, itemKey, operator: ">")
                if better {
                    best = item
                    bestKey = itemKey
                }
            }
            return best
        case .sum:
            let slots = try arguments.bind(["attribute", "start"], function: name)
            var total = slots[1] ?? .int(0)
            var items = try JinjaAccess.iterate(value)
            if let attribute = slots[0] { items = try items.map(attributeGetter(attribute)) }
            for item in items { total = try JinjaOperations.binary(.add, total, item) }
            return total
        case .batch:
            let slots = try arguments.bind(["linecount", "fill_with"], function: name)
            guard let size = slots[0]?.integerValue, size > 0 else { throw JinjaFailure("batch() needs a positive line count") }
            var batches: [JinjaValue] = []
            var current: [JinjaValue] = []
            for item in try JinjaAccess.iterate(value) {
                current.append(item)
                if current.count == size {
                    batches.append(.list(current))
                    current = []
                }
            }
            if !current.isEmpty {
                if let fill = slots[1] { current += Array(repeating: fill, count: size - current.count) }
                batches.append(.list(current))
            }
            return .list(batches)
        }
    }

    // MARK: Helpers shared by several filters

    private func optionalString(_ value: JinjaValue?, _ function: String) throws(JinjaFailure) -> String? {
        guard let value else { return nil }
        if case .none = value { return nil }
        guard case .string(let text) = value else { throw JinjaFailure("\(function)() arg must be None or str") }
        return text
    }

    private func optionalInteger(_ value: JinjaValue?, _ function: String) throws(JinjaFailure) -> Int? {
        guard let value else { return nil }
        if case .none = value { return nil }
        guard let integer = value.integerValue else {
            throw JinjaFailure("'\(value.typeName)' object cannot be interpreted as an integer")
        }
        return integer
    }

    /// `int(value)` with jinja2's fallbacks: strings in the base (prefixes allowed with base 0 or
    /// the matching base), then through float (`"4.7"` is 4); nil when nothing works.
    private func integer(_ value: JinjaValue, base: Int) -> JinjaValue? {
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

    private func indent(_ value: JinjaValue, _ arguments: JinjaArguments) throws(JinjaFailure) -> JinjaValue {
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

    private func round(_ value: JinjaValue, _ arguments: JinjaArguments) throws(JinjaFailure) -> JinjaValue {
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
    private func toJSON(_ value: JinjaValue, _ arguments: JinjaArguments) throws(JinjaFailure) -> JinjaValue {
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

    private static func ignoringCase(_ value: JinjaValue) -> JinjaValue {
        if case .string(let text) = value { return .string(text.lowercased()) }
        return value
    }

    private func sortKeyGetter(attribute: JinjaValue?, caseSensitive: Bool) throws(JinjaFailure) -> (JinjaValue) throws(JinjaFailure) -> JinjaValue {
        let getter: ((JinjaValue) throws(JinjaFailure) -> JinjaValue)? = attribute.map { attributeGetter($0) }
        return { (item: JinjaValue) throws(JinjaFailure) -> JinjaValue in
            let key = try getter?(item) ?? item
            return caseSensitive ? key : Self.ignoringCase(key)
        }
    }

    /// A stable sort with Python's ordering (an error for values that do not compare).
    private func sorted(
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
    private func mapItems(_ value: JinjaValue, _ arguments: JinjaArguments) throws(JinjaFailure) -> [JinjaValue] {
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
    private func selectItems(
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
