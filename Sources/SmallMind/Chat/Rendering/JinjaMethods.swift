/// Methods templates call on values: Python's `str` methods, the read-only `dict` and `list`
/// methods, and `loop.cycle` / `loop.changed`. JinjaAccess decides which names exist.
extension JinjaRenderer {
    func callMethod(_ name: String, on receiver: JinjaValue, _ arguments: JinjaArguments) throws(JinjaFailure) -> JinjaValue {
        switch receiver {
        case .string(let text): return try callStringMethod(name, text, arguments)
        case .dictionary(let dictionary): return try callDictionaryMethod(name, dictionary, arguments)
        case .list(let items), .tuple(let items):
            let item = try arguments.bind(["value"], function: name)[0] ?? .none
            if name == "count" { return .int(items.filter { JinjaOperations.equal($0, item) }.count) }
            guard let position = items.firstIndex(where: { JinjaOperations.equal($0, item) }) else {
                throw JinjaFailure("\(item.pythonRepr) is not in \(receiver.typeName)")
            }
            return .int(position)
        case .loop(let loop):
            if name == "cycle" {
                guard !arguments.positional.isEmpty else { throw JinjaFailure("no items for cycling given") }
                return arguments.positional[loop.index0 % arguments.positional.count]
            }
            let values = arguments.positional
            if let last = loop.lastChangedValue, last.count == values.count, zip(last, values).allSatisfy({ JinjaOperations.equal($0, $1) }) {
                return .bool(false)
            }
            loop.lastChangedValue = values
            return .bool(true)
        default:
            throw JinjaFailure("'\(receiver.typeName)' object has no method '\(name)'")
        }
    }

    private func callDictionaryMethod(_ name: String, _ dictionary: JinjaDictionary, _ arguments: JinjaArguments) throws(JinjaFailure) -> JinjaValue {
        switch name {
        case "get":
            let slots = try arguments.bind(["key", "default"], function: "get")
            guard let key = slots[0] else { throw JinjaFailure("get expected at least 1 argument, got 0") }
            return dictionary.value(for: try JinjaHashKey(key)) ?? slots[1] ?? .none
        case "items":
            try arguments.requireNone(name)
            return .list(dictionary.pairs.map { .tuple([$0, $1]) })
        case "keys":
            try arguments.requireNone(name)
            return .list(dictionary.keys)
        case "values":
            try arguments.requireNone(name)
            return .list(dictionary.values)
        default:
            try arguments.requireNone(name)
            return .dictionary(dictionary)  // copy
        }
    }

    private func callStringMethod(_ name: String, _ text: String, _ arguments: JinjaArguments) throws(JinjaFailure) -> JinjaValue {
        func string(_ slot: JinjaValue?, _ parameter: String) throws(JinjaFailure) -> String? {
            guard let slot, !slot.isNone else { return nil }
            guard case .string(let value) = slot else {
                try JinjaOperations.failIfUndefined(slot)
                throw JinjaFailure("\(name)() argument '\(parameter)' must be str, not \(slot.typeName)")
            }
            return value
        }
        func integer(_ slot: JinjaValue?, _ fallback: Int) throws(JinjaFailure) -> Int {
            guard let slot, !slot.isNone else { return fallback }
            guard let value = slot.integerValue else {
                throw JinjaFailure("'\(slot.typeName)' object cannot be interpreted as an integer")
            }
            return value
        }
        func required(_ slot: JinjaValue?, _ parameter: String) throws(JinjaFailure) -> String {
            guard let value = try string(slot, parameter) else { throw JinjaFailure("\(name)() missing required argument '\(parameter)'") }
            return value
        }

        switch name {
        case "startswith", "endswith":
            let slots = try arguments.bind(["prefix", "start", "end"], function: name)
            guard let affix = slots[0] else { throw JinjaFailure("\(name)() takes at least 1 argument (0 given)") }
            var subject = text
            if slots[1] != nil || slots[2] != nil {
                subject = try JinjaAccess.slice(.string(text), start: slots[1] ?? .none, stop: slots[2] ?? .none, step: .none).pythonString
            }
            var candidates: [JinjaValue] = [affix]
            if case .tuple(let items) = affix { candidates = items }
            for candidate in candidates {
                guard case .string(let piece) = candidate else {
                    throw JinjaFailure("\(name) first arg must be str or a tuple of str, not \(candidate.typeName)")
                }
                if name == "startswith" ? JinjaText.hasPrefix(subject, piece) : JinjaText.hasSuffix(subject, piece) { return .bool(true) }
            }
            return .bool(false)
        case "strip", "lstrip", "rstrip":
            let characters = try string(try arguments.bind(["chars"], function: name)[0], "chars")
            return .string(JinjaText.strip(text, characters: characters, leading: name != "rstrip", trailing: name != "lstrip"))
        case "split", "rsplit":
            let slots = try arguments.bind(["sep", "maxsplit"], function: name)
            let parts = try JinjaText.split(text, separator: try string(slots[0], "sep"), maximum: try integer(slots[1], -1),
                                            fromEnd: name == "rsplit")
            return .list(parts.map(JinjaValue.string))
        case "splitlines":
            let keepEnds = try arguments.bind(["keepends"], function: name)[0]?.isTruthy ?? false
            return .list(JinjaText.splitLines(text, keepEnds: keepEnds).map(JinjaValue.string))
        case "upper": try arguments.requireNone(name); return .string(text.uppercased())
        case "lower": try arguments.requireNone(name); return .string(text.lowercased())
        case "title": try arguments.requireNone(name); return .string(JinjaText.pythonTitle(text))
        case "capitalize": try arguments.requireNone(name); return .string(JinjaText.capitalize(text))
        case "swapcase": try arguments.requireNone(name); return .string(JinjaText.swapCase(text))
        case "replace":
            let slots = try arguments.bind(["old", "new", "count"], function: name)
            let result = JinjaText.replace(text, try required(slots[0], "old"), try required(slots[1], "new"),
                                           count: try integer(slots[2], -1))
            try JinjaOperations.checkSize(result.utf8.count)
            return .string(result)
        case "find", "rfind", "index", "rindex":
            let slots = try arguments.bind(["sub", "start", "end"], function: name)
            let needle = try required(slots[0], "sub")
            let start = try integer(slots[1], 0)
            var subject = text
            var offset = 0
            if slots[1] != nil || slots[2] != nil {
                subject = try JinjaAccess.slice(.string(text), start: slots[1] ?? .none, stop: slots[2] ?? .none, step: .none).pythonString
                let length = text.unicodeScalars.count
                offset = start < 0 ? Swift.max(0, length + start) : Swift.min(start, length)
            }
            let found = JinjaText.find(subject, needle, fromEnd: name.hasPrefix("r"))
            if found < 0, name.hasSuffix("index") { throw JinjaFailure("substring not found") }
            return .int(found < 0 ? -1 : found + offset)
        case "count":
            let needle = try required(try arguments.bind(["sub"], function: name)[0], "sub")
            return .int(JinjaText.count(text, needle))
        case "join":
            guard let iterable = try arguments.bind(["iterable"], function: name)[0] else {
                throw JinjaFailure("join() takes exactly one argument (0 given)")
            }
            var result = ""
            for (index, item) in try JinjaAccess.iterate(iterable).enumerated() {
                guard case .string(let piece) = item else {
                    throw JinjaFailure("sequence item \(index): expected str instance, \(item.typeName) found")
                }
                if index > 0 { result += text }
                result += piece
                try JinjaOperations.checkSize(result.utf8.count)
            }
            return .string(result)
        case "format":
            return .string(try JinjaFormatting.format(text, positional: arguments.positional, keyword: arguments.keyword.map { ($0.name, $0.value) }))
        case "isdigit", "isnumeric", "isdecimal":
            try arguments.requireNone(name)
            return .bool(!text.isEmpty && text.unicodeScalars.allSatisfy { $0.properties.numericType != nil })
        case "isalpha":
            try arguments.requireNone(name)
            return .bool(!text.isEmpty && text.unicodeScalars.allSatisfy { $0.properties.isAlphabetic })
        case "isalnum":
            try arguments.requireNone(name)
            return .bool(!text.isEmpty && text.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil })
        case "isspace":
            try arguments.requireNone(name)
            return .bool(!text.isEmpty && text.unicodeScalars.allSatisfy(\.isPythonWhitespace))
        case "islower": try arguments.requireNone(name); return .bool(JinjaText.isAllCased(text, upper: false))
        case "isupper": try arguments.requireNone(name); return .bool(JinjaText.isAllCased(text, upper: true))
        case "istitle":
            try arguments.requireNone(name)
            return .bool(JinjaText.pythonTitle(text).unicodeScalars.elementsEqual(text.unicodeScalars)
                && text.unicodeScalars.contains(where: JinjaText.isCased))
        case "zfill":
            let width = Swift.max(0, try integer(try arguments.bind(["width"], function: name)[0], 0))
            let signed = text.hasPrefix("-") || text.hasPrefix("+")
            let body = signed ? String(text.dropFirst()) : text
            let padded = JinjaText.pad(body, width: width - (signed ? 1 : 0), fill: "0", alignment: "right")
            return .string((signed ? String(text.prefix(1)) : "") + padded)
        case "center", "ljust", "rjust":
            let slots = try arguments.bind(["width", "fillchar"], function: name)
            let fill = try string(slots[1], "fillchar") ?? " "
            guard fill.unicodeScalars.count == 1, let fillScalar = fill.unicodeScalars.first else {
                throw JinjaFailure("The fill character must be exactly one character long")
            }
            let alignment = name == "ljust" ? "left" : name == "rjust" ? "right" : "center"
            return .string(JinjaText.pad(text, width: try integer(slots[0], 0), fill: fillScalar, alignment: alignment))
        case "removeprefix":
            let prefix = try required(try arguments.bind(["prefix"], function: name)[0], "prefix")
            guard JinjaText.hasPrefix(text, prefix) else { return .string(text) }
            return .string(JinjaText.string(Array(text.utf8).dropFirst(prefix.utf8.count)))
        case "removesuffix":
            let suffix = try required(try arguments.bind(["suffix"], function: name)[0], "suffix")
            guard JinjaText.hasSuffix(text, suffix), !suffix.isEmpty else { return .string(text) }
            return .string(JinjaText.string(Array(text.utf8).dropLast(suffix.utf8.count)))
        case "partition", "rpartition":
            let separator = try required(try arguments.bind(["sep"], function: name)[0], "sep")
            let parts = try JinjaText.split(text, separator: separator, maximum: 1, fromEnd: name == "rpartition")
            if parts.count == 2 { return .tuple([.string(parts[0]), .string(separator), .string(parts[1])]) }
            return name == "partition" ? .tuple([.string(text), .string(""), .string("")]) : .tuple([.string(""), .string(""), .string(text)])
        default:
            throw JinjaFailure("'str' object has no attribute '\(name)'")
        }
    }
}
