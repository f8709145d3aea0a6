/// The parsed template: statements whose expressions are trees. Everything here is immutable
/// (and so Sendable): one parse serves every render, on any thread.

/// A literal the parser can fold: what jinja2 calls a `Const`.
enum JinjaConstant: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
}

enum JinjaUnaryOperator: Sendable { case not, negate, plus }

enum JinjaBinaryOperator: String, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", floorDivide = "//", modulo = "%", power = "**"
}

enum JinjaComparison: String, Sendable {
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case contains = "in", notContains = "not in"
}

/// Arguments of a call, filter or test as written: `f(a, b, key=c, *rest, **more)`.
struct JinjaArgumentList: Sendable {
    var positional: [JinjaExpression] = []
    var keyword: [(name: String, value: JinjaExpression)] = []
    var spreadPositional: JinjaExpression?
    var spreadKeyword: JinjaExpression?

    static let empty = JinjaArgumentList()
}

/// A filter or test as written, resolved when parsed. An unknown name fails the load, except
/// inside `if` statements and `x if c else y` expressions, where jinja2 fails only when the
/// expression runs (JinjaParser's validation pass applies that rule).
struct JinjaFilterReference: Sendable {
    let name: String
    let filter: JinjaFilterName?
}

struct JinjaTestReference: Sendable {
    let name: String
    let test: JinjaTestName?
}

final class JinjaExpression: Sendable {
    enum Kind: Sendable {
        case constant(JinjaConstant)
        case name(String)
        case list([JinjaExpression])
        case tuple([JinjaExpression])
        case dictionary([(key: JinjaExpression, value: JinjaExpression)])
        /// `x.name`: attribute first, then item (jinja2's getattr).
        case attribute(JinjaExpression, String)
        /// `x[key]`: item first, then attribute (jinja2's getitem); the key may be a slice.
        case item(JinjaExpression, JinjaExpression)
        /// `start:stop:step`, only as the key of an item access.
        case slice(start: JinjaExpression?, stop: JinjaExpression?, step: JinjaExpression?)
        case unary(JinjaUnaryOperator, JinjaExpression)
        case binary(JinjaBinaryOperator, JinjaExpression, JinjaExpression)
        case and(JinjaExpression, JinjaExpression)
        case or(JinjaExpression, JinjaExpression)
        /// `a ~ b ~ c`: the string forms joined.
        case concatenate([JinjaExpression])
        /// `a < b <= c`: chained like Python's.
        case compare(JinjaExpression, [(JinjaComparison, JinjaExpression)])
        /// `then if test else otherwise` (no else: undefined).
        case conditional(test: JinjaExpression, then: JinjaExpression, otherwise: JinjaExpression?)
        case call(JinjaExpression, JinjaArgumentList)
        case filter(JinjaExpression, JinjaFilterReference, JinjaArgumentList)
        case test(JinjaExpression, JinjaTestReference, JinjaArgumentList, negated: Bool)
    }

    let kind: Kind
    let location: JinjaSourceLocation

    init(_ kind: Kind, at location: JinjaSourceLocation) {
        self.kind = kind
        self.location = location
    }
}

/// Where `set`, `for` and `with` store values.
indirect enum JinjaTarget: Sendable {
    case name(String)
    case tuple([JinjaTarget])
    /// `ns.attribute`: the only attribute assignment jinja2 allows, on a `namespace()`.
    case namespaceAttribute(String, String)
}

/// A filter applied to a block's output: `{% filter upper %}` or `{% set x | trim %}`.
struct JinjaFilterApplication: Sendable {
    var name: JinjaFilterName
    var arguments: JinjaArgumentList
    var location: JinjaSourceLocation
}

/// A macro, or the anonymous body of a `{% call %}` block (invoked as `caller()`).
final class JinjaMacroDefinition: Sendable {
    let name: String
    let parameters: [(name: String, defaultValue: JinjaExpression?)]
    let body: [JinjaStatement]
    /// Whether the body mentions `varargs` / `kwargs`: only then may extra arguments be passed
    /// (jinja2 decides this from the body the same way).
    let collectsExtraPositional: Bool
    let collectsExtraKeywords: Bool

    init(name: String, parameters: [(name: String, defaultValue: JinjaExpression?)], body: [JinjaStatement]) {
        self.name = name
        self.parameters = parameters
        self.body = body
        let mentioned = JinjaStatement.namesMentioned(in: body)
        collectsExtraPositional = mentioned.contains("varargs")
        collectsExtraKeywords = mentioned.contains("kwargs")
    }
}

struct JinjaLoopStatement: Sendable {
    var target: JinjaTarget
    var iterable: JinjaExpression
    /// `for x in xs if condition`: items failing it are skipped before the loop counts them.
    var condition: JinjaExpression?
    var body: [JinjaStatement]
    /// Rendered when no item was looped over.
    var otherwise: [JinjaStatement]
    var isRecursive: Bool
}

final class JinjaStatement: Sendable {
    enum Kind: Sendable {
        case text(String)
        case output(JinjaExpression)
        case conditional([(test: JinjaExpression, body: [JinjaStatement])], otherwise: [JinjaStatement])
        case loop(JinjaLoopStatement)
        case assign(JinjaTarget, JinjaExpression)
        case assignBlock(JinjaTarget, [JinjaFilterApplication], body: [JinjaStatement])
        case macro(JinjaMacroDefinition)
        /// `{% call(args) macro(…) %}body{% endcall %}`: the body is passed as `caller`.
        case callBlock(caller: JinjaMacroDefinition, call: JinjaExpression)
        case filterBlock([JinjaFilterApplication], body: [JinjaStatement])
        case with([(JinjaTarget, JinjaExpression)], body: [JinjaStatement])
        /// Statements run in a scope of their own (Hugging Face's `{% generation %}` marker).
        case group([JinjaStatement])
        case breakLoop
        case continueLoop
    }

    let kind: Kind
    let location: JinjaSourceLocation

    init(_ kind: Kind, at location: JinjaSourceLocation) {
        self.kind = kind
        self.location = location
    }
}

// MARK: Names a body mentions

extension JinjaStatement {
    /// Every variable name read anywhere in these statements (not inside nested macros).
    static func namesMentioned(in statements: [JinjaStatement]) -> Set<String> {
        var names = Set<String>()
        for statement in statements { statement.collectNames(into: &names) }
        return names
    }

    private func collectNames(into names: inout Set<String>) {
        func visit(_ statements: [JinjaStatement]) { for statement in statements { statement.collectNames(into: &names) } }
        switch kind {
        case .text, .breakLoop, .continueLoop, .macro:
            break
        case .output(let expression):
            expression.collectNames(into: &names)
        case .conditional(let branches, let otherwise):
            for branch in branches {
                branch.test.collectNames(into: &names)
                visit(branch.body)
            }
            visit(otherwise)
        case .loop(let loop):
            loop.iterable.collectNames(into: &names)
            loop.condition?.collectNames(into: &names)
            visit(loop.body)
            visit(loop.otherwise)
        case .assign(_, let value):
            value.collectNames(into: &names)
        case .assignBlock(_, let filters, let body), .filterBlock(let filters, let body):
            for filter in filters { filter.arguments.collectNames(into: &names) }
            visit(body)
        case .callBlock(let caller, let call):
            call.collectNames(into: &names)
            for parameter in caller.parameters { parameter.defaultValue?.collectNames(into: &names) }
            visit(caller.body)
        case .with(let assignments, let body):
            for (_, value) in assignments { value.collectNames(into: &names) }
            visit(body)
        case .group(let body):
            visit(body)
        }
    }
}

extension JinjaArgumentList {
    fileprivate func collectNames(into names: inout Set<String>) {
        for argument in positional { argument.collectNames(into: &names) }
        for argument in keyword { argument.value.collectNames(into: &names) }
        spreadPositional?.collectNames(into: &names)
        spreadKeyword?.collectNames(into: &names)
    }
}

extension JinjaExpression {
    fileprivate func collectNames(into names: inout Set<String>) {
        switch kind {
        case .constant:
            break
        case .name(let name):
            names.insert(name)
        case .list(let items), .tuple(let items), .concatenate(let items):
            for item in items { item.collectNames(into: &names) }
        case .dictionary(let pairs):
            for pair in pairs {
                pair.key.collectNames(into: &names)
                pair.value.collectNames(into: &names)
            }
        case .attribute(let target, _), .unary(_, let target):
            target.collectNames(into: &names)
        case .item(let target, let key):
            target.collectNames(into: &names)
            key.collectNames(into: &names)
        case .slice(let start, let stop, let step):
            start?.collectNames(into: &names)
            stop?.collectNames(into: &names)
            step?.collectNames(into: &names)
        case .binary(_, let left, let right), .and(let left, let right), .or(let left, let right):
            left.collectNames(into: &names)
            right.collectNames(into: &names)
        case .compare(let first, let rest):
            first.collectNames(into: &names)
            for (_, operand) in rest { operand.collectNames(into: &names) }
        case .conditional(let test, let then, let otherwise):
            test.collectNames(into: &names)
            then.collectNames(into: &names)
            otherwise?.collectNames(into: &names)
        case .call(let callee, let arguments):
            callee.collectNames(into: &names)
            arguments.collectNames(into: &names)
        case .filter(let target, _, let arguments), .test(let target, _, let arguments, _):
            target.collectNames(into: &names)
            arguments.collectNames(into: &names)
        }
    }
}
