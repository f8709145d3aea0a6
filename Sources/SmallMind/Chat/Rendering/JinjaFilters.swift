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
}
