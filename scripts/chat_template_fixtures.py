#!/usr/bin/env python3
"""Renders small Jinja templates with Python's jinja2 under Hugging Face's apply_chat_template
settings and writes what came out (or the error raised) to
Tests/SmallMindTests/Fixtures/chat-template-cases.json, the oracle for ChatTemplateLanguageTests.

    pip install jinja2==3.1.6
    python3 scripts/chat_template_fixtures.py

Settings, as transformers' render_jinja_template sets them: ImmutableSandboxedEnvironment with
trim_blocks, lstrip_blocks and the loopcontrols extension; raise_exception and strftime_now
globals (the clock fixed on 2026-01-15 09:05:07); tojson overridden to json.dumps with
ensure_ascii=False; render(messages=..., tools=None, documents=None, add_generation_prompt=...,
bos_token='<s>', eos_token='</s>', **extra).

Each case: name, template, variables (JSON; messages and add_generation_prompt among them), and
either "output", "error" (jinja2's message; "error_type" its class) or "load_error" (the test
checks only that loading fails: the wording and positions of load errors are ours).
Cases that render ../shared/templates files name the file in "template_file" instead of holding
its text (shared files are never copied into the repository).
"""
import datetime
import json
import os
import sys

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "SmallMindTests", "Fixtures", "chat-template-cases.json")
SHARED = os.path.join(HERE, "..", "..", "shared", "templates")


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


class AssistantTracker(Extension):
    """transformers' `{% generation %}` tag, inactive: the body renders as a call block's caller."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    def _generation_support(self, caller):
        return caller()


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.datetime(2026, 1, 15, 9, 5, 7).strftime(fmt)
    return env


def render(source, variables):
    try:
        template = environment().from_string(source)
    except Exception as error:  # noqa: BLE001 - the oracle records any failure
        return {"load_error": "%s: %s" % (type(error).__name__, error)}
    variables = dict(variables)
    messages = variables.pop("messages", [])
    add_generation_prompt = variables.pop("add_generation_prompt", False)
    arguments = dict(tools=None, documents=None, bos_token="<s>", eos_token="</s>")
    arguments.update(variables)
    try:
        return {"output": template.render(messages=messages, add_generation_prompt=add_generation_prompt, **arguments)}
    except Exception as error:  # noqa: BLE001
        return {"error": str(error), "error_type": type(error).__name__}


CHAT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "2+2?"},
]
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city, \"now\".",
                                      "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                     "required": ["city"]}}},
    {"type": "function", "function": {"name": "add", "description": "Adds numbers: é ü 日本",
                                      "parameters": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}}},
]
TOOL_CHAT = [
    {"role": "system", "content": "You can call tools."},
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": "", "tool_calls": [
        {"id": "call12345", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
    {"role": "tool", "content": "{\"temp\": 21}", "tool_call_id": "call12345"},
    {"role": "assistant", "content": "21 degrees."},
    {"role": "user", "content": "Thanks"},
]
THINK_CHAT = [
    {"role": "user", "content": "Think first."},
    {"role": "assistant", "content": "<think>\nHmm.\n</think>\n\nDone."},
    {"role": "user", "content": "Again?"},
]

CASES = [
    # Whitespace control, trim_blocks, lstrip_blocks, comments, raw.
    ("text only", "Hello\n", {}),
    ("trailing newline dropped once", "a\n\n", {}),
    ("crlf normalised", "a\r\nb\rc", {}),
    ("trim_blocks eats one newline", "{% if true %}\nyes\n{% endif %}\nafter", {}),
    ("lstrip_blocks strips indentation", "x\n    {% if true %}\n    in\n    {% endif %}\ny", {}),
    ("lstrip off with plus", "x\n    {%+ if true %}in{% endif %}", {}),
    ("plus keeps newline after block", "{% if true +%}\nkept{% endif %}", {}),
    ("minus strips both sides", "a   \n  {%- if true -%}  \n  b  {%- endif -%}\n\n  c", {}),
    ("variable minus", "a  {{- 'b' -}}  c", {}),
    ("variable not lstripped", "x\n    {{ 'v' }}\n", {}),
    ("comment trimmed", "a\n  {# note #}\nb", {}),
    ("comment minus", "a  {#- note -#}  b", {}),
    ("comment with tags inside", "{# {{ x }} {% if %} #}ok", {}),
    ("raw block", "{% raw %}{{ not rendered }}{% endraw %}", {}),
    ("raw block whitespace", "a\n  {%- raw -%}  {{ x }}  {%- endraw -%}  \nb", {}),
    ("line start after block", "{% set x = 1 %}\n  {% if x %}yes{% endif %}", {}),
    ("lstrip at template start", "   {% if true %}a{% endif %}", {}),
    ("text with braces", "{ not a tag } {{ '{{' }} }}", {}),
    ("unicode text", "日本語 🙂 {{ 'é' }}", {}),
    # Literals and printing as Python prints.
    ("printing values", "{{ none }}|{{ None }}|{{ true }}|{{ False }}|{{ 1 }}|{{ -3 }}|{{ 1.0 }}|{{ 0.1 }}|{{ 1e20 }}|{{ 1.5e-7 }}|{{ 123456789.125 }}", {}),
    ("printing containers", "{{ [1, 'a', none, true, 2.5, [], {}] }}|{{ {'k': 'v', 'n': [1, (2, 3)]} }}|{{ (1,) }}|{{ () }}|{{ ('a', 'b') }}", {}),
    ("string repr quotes", """{{ ["it's", 'say "hi"', "both ' \\"", "tab\\tnew\\nline", "\\x01\\x7f", "é\\u00a0\\u200b日"] }}""", {}),
    ("string escapes", """{{ 'a\\'b' ~ "c\\"d" ~ '\\\\' ~ '\\x41\\u00e9\\U0001F642' ~ '\\101' ~ '\\q' }}""", {}),
    ("adjacent strings join", "{{ 'a' 'b' \"c\" }}", {}),
    ("numbers", "{{ 1_000 }} {{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 1.5e3 }} {{ 2E-2 }}", {}),
    ("leading zero is not a number", "{{ 007 }}", {}),
    ("undefined prints empty", "[{{ nothing }}]", {}),
    ("tuple output", "{{ 1, 2 }}", {}),
    ("dict printing of messages", "{{ messages[0] }}", {"messages": [{"role": "user", "content": "x"}]}),
    # Operators.
    ("arithmetic", "{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 7 / 2 }} {{ 6 / 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7.5 // 2 }} {{ 7.5 % 2 }} {{ 3 * 1.5 }} {{ 10 - 2 - 3 }}", {}),
    ("precedence", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ -2 ** 2 }} {{ 2 ** 3 ** 2 }} {{ 2 * 3 ~ 4 }} {{ not 1 == 2 }} {{ 'ab' ~ (1 + 2) }} {{ 'a' ~ 'b' in 'xaby' }} {{ 1 + 2 == 3 }}", {}),
    ("tilde binds tighter than plus", "{{ 1 + 2 ~ 3 }}", {}),
    ("filter binds tighter than plus", "{{ 'a ' + ' b '|trim + 'c' }}|{{ -3|abs }}|{{ (-3)|abs }}", {}),
    ("string and list arithmetic", "{{ 'ab' * 3 }} {{ 3 * 'x' }} {{ [1] * 2 }} {{ [1] + [2] }} {{ 'a' + 'b' }} {{ (1,) + (2,) }} {{ 'a' * 0 }}", {}),
    ("bool arithmetic", "{{ true + 1 }} {{ true == 1 }} {{ 1 == 1.0 }} {{ false * 3 }}", {}),
    ("comparisons", "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' < 'b' }} {{ 'B' < 'a' }} {{ [1, 2] < [1, 3] }} {{ 2 >= 2.0 }} {{ 'a' != 'a' }} {{ none == none }} {{ [1] == (1,) }} {{ {'a': 1} == {'a': 1} }}", {}),
    ("and or return operands", "{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ '' and 'b' }} {{ none or [] }} {{ 1 and 0 or 5 }}", {}),
    ("in and not in", "{{ 'a' in 'cat' }} {{ 'z' not in 'cat' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'v' in {'k': 'v'} }} {{ '' in 'x' }} {{ 1 in (1, 2) }} {{ 'x' in nothing }}", {}),
    ("concat tilde", "{{ 1 ~ none ~ true ~ [1] ~ nothing ~ 2.0 }}", {}),
    ("conditional expression", "{{ 'y' if true else 'n' }} {{ 'y' if false else 'n' }} [{{ 'y' if false }}] {{ 'a' if 0 else 'b' if 1 else 'c' }}", {}),
    ("unary", "{{ -(3) }} {{ +3 }} {{ - -3 }} {{ not not 1 }} {{ -1.5 }}", {}),
    # Access.
    ("attribute and item", "{{ d.a }} {{ d['a'] }} {{ d.b.c }} {{ d['b']['c'] }} {{ xs[0] }} {{ xs[-1] }} {{ xs.1 }} [{{ d.missing }}] [{{ xs[9] }}]",
     {"d": {"a": 1, "b": {"c": "deep"}}, "xs": [10, 20, 30]}),
    ("dict keys versus methods", "{{ d.items is defined }} {{ d['items'] }} {{ d.get('k') }} {{ d.get('z', 'dflt') }} {{ d.get('z') }}",
     {"d": {"items": "an item", "k": "v"}}),
    ("slicing", "{{ s[1:] }}|{{ s[:-1] }}|{{ s[::-1] }}|{{ s[1:4:2] }}|{{ s[-3:] }}|{{ xs[1:] }}|{{ xs[::2] }}|{{ xs[5:] }}|{{ s[10:] }}|{{ xs[:-10] }}|{{ s[::-2] }}|{{ xs[-1:0:-1] }}",
     {"s": "héllo🙂", "xs": [1, 2, 3, 4]}),
    ("string index by code point", "{{ s[0] }}{{ s[-1] }}{{ s|length }}", {"s": "🙂ab\u0301"}),
    ("dict methods", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{{ d.keys()|list }}{{ d.values()|list }}", {"d": {"b": 1, "a": 2}}),
    ("namespace item access", "{% set ns = namespace(a=1) %}{{ ns.a }}{{ ns['a'] }}[{{ ns.b }}]", {}),
    # Statements.
    ("if elif else", "{% for n in [1, 2, 3] %}{% if n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif %},{% endfor %}", {}),
    ("if on values", "{% if [] %}a{% endif %}{% if {} %}b{% endif %}{% if '' %}c{% endif %}{% if 0.0 %}d{% endif %}{% if nothing %}e{% endif %}{% if none %}f{% endif %}{% if ' ' %}g{% endif %}{% if [0] %}h{% endif %}", {}),
    ("for loop variables", "{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}", {}),
    ("loop previtem nextitem", "{% for x in [1, 2, 3] %}[{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }}]{% endfor %}", {}),
    ("loop cycle and changed", "{% for x in [1, 1, 2] %}{{ loop.cycle('a', 'b') }}{{ loop.changed(x) }}{% endfor %}", {}),
    ("for else", "{% for x in [] %}x{% else %}empty{% endfor %}{% for x in [1] %}x{% else %}empty{% endfor %}", {}),
    ("for filter clause", "{% for m in messages if m.role != 'system' %}{{ loop.index }}:{{ m.content }}{{ ',' if not loop.last }}{% endfor %}", {"messages": CHAT}),
    ("for over dict and unpacking", "{% for k in d %}{{ k }}{% endfor %}|{% for k, v in d|items %}{{ k }}{{ v }}{% endfor %}|{% for a, (b, c) in [(1, (2, 3))] %}{{ a }}{{ b }}{{ c }}{% endfor %}",
     {"d": {"x": 1, "y": 2}}),
    ("for over undefined", "[{% for x in nothing %}{{ x }}{% endfor %}]", {}),
    ("nested loops", "{% for a in [1, 2] %}{% for b in 'xy' %}{{ a }}{{ b }}{{ loop.index }}{% endfor %}{{ loop.index }};{% endfor %}", {}),
    ("break and continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}", {}),
    ("recursive loop", "{% for item in tree recursive %}{{ item.name }}{% if item.children %}({{ loop(item.children) }}){% endif %}{{ loop.depth }}{% endfor %}",
     {"tree": [{"name": "a", "children": [{"name": "b", "children": [{"name": "c"}]}]}, {"name": "d"}]}),
    ("set scoping in loops", "{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = 5 %}{{ x }}{% endfor %}{{ x }}", {}),
    ("set in if is not scoped", "{% if true %}{% set y = 'in' %}{% endif %}{{ y }}", {}),
    ("set tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c = 3, 4 %}{{ c }}", {}),
    ("block set", "{% set block %}  x{{ 1 + 1 }}\n{% endset %}[{{ block }}]{% set upper | upper | trim %} shout {% endset %}[{{ upper }}]", {}),
    ("namespace", "{% set ns = namespace(count=0, found=false) %}{% for x in [1, 2, 3] %}{% set ns.count = ns.count + x %}{% if x == 2 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.count }} {{ ns.found }}", {}),
    ("namespace from dict", "{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}", {}),
    ("macro", "{% macro greet(name, punct='!') %}Hello {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', punct='?') }} {{ greet(name='Cy') }}", {}),
    ("macro defaults see earlier args", "{% macro m(a, b=a ~ '2') %}{{ a }}{{ b }}{% endmacro %}{{ m('x') }}", {}),
    ("macro missing argument", "{% macro m(a, b) %}[{{ a }}][{{ b }}]{% endmacro %}{{ m(1) }}", {}),
    ("macro varargs kwargs", "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k='v') }}", {}),
    ("macro recursion", "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ fact(5) }}", {}),
    ("macro sees globals", "{% set g = 'G' %}{% macro m() %}{{ g }}{{ bos_token }}{% endmacro %}{{ m() }}", {}),
    ("call block", "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold {{ 1 + 1 }}{% endcall %}", {}),
    ("call block with arguments", "{% macro each(xs) %}{% for x in xs %}{{ caller(x, loop.index) }}{% endfor %}{% endmacro %}{% call(item, n) each(['a', 'b']) %}{{ n }}={{ item }};{% endcall %}", {}),
    ("filter block", "{% filter upper %}shout {{ 'this' }}{% endfilter %}|{% filter replace('a', 'o') | title %}a cat{% endfilter %}", {}),
    ("with block", "{% with a = 1, b = 'x' %}{{ a }}{{ b }}{% endwith %}[{{ a }}]", {}),
    ("generation block", "{% generation %}kept {{ 1 }}{% set inside = 1 %}{% endgeneration %}[{{ inside }}]", {}),
    ("print statement", "{% print 'p' ~ 1 %}", {}),
    ("macro sees later top-level sets", "{% macro m() %}[{{ late }}]{% endmacro %}{% set late = 'L' %}{{ m() }}", {}),
    ("macro does not see the caller's loop variable", "{% macro m() %}[{{ x }}]{% endmacro %}{% for x in [1] %}{{ m() }}{% endfor %}", {}),
    ("macro defined in a loop sees its variable", "{% for x in ['a', 'b'] %}{% macro m() %}{{ x }}{% endmacro %}{{ m() }}{% endfor %}", {}),
    ("set inside a macro stays inside", "{% set y = 'out' %}{% macro m() %}{% set y = 'in' %}{{ y }}{% endmacro %}{{ m() }}{{ y }}", {}),
    ("namespace changed inside a macro", "{% set ns = namespace(n=0) %}{% macro bump() %}{% set ns.n = ns.n + 1 %}{% endmacro %}{{ bump() }}{{ bump() }}{{ ns.n }}", {}),
    ("outer loop kept in a variable", "{% for a in 'ab' %}{% set outer = loop %}{% for b in 'xy' %}{{ outer.index }}{{ loop.index }}{% endfor %};{% endfor %}", {}),
    ("undefined from a short conditional joins as nothing", "{{ 'a' ~ ('b' if false) ~ 'c' }}{{ x.y if x is defined else 'no' }}", {}),
    ("chained access into messages", "{{ messages[-1]['content'] }}|{{ (messages|selectattr('role', 'eq', 'user')|list)[-1].content }}|{% if messages|length > 0 and messages[0].role == 'system' %}sys{% endif %}",
     {"messages": CHAT}),
    ("deep literal access", "{% set d = {'a': {'b': [1, {'c': 'deep'}]}} %}{{ d.a.b[1].c }}{{ d['a']['b'][0] }}", {}),
    ("sorting pairs", "{% for k, v in {'b': 1, 'a': 2}.items()|sort %}{{ k }}{{ v }}{% endfor %}{{ {'b': 1, 'a': 2}|dictsort|first }}", {}),
    ("whitespace mix", "{{- 'x' }}  \n  {%- if true %} y{% endif -%}  \n end\n{%- for m in messages -%}\n  {{ m.role }}\n{%- endfor %}", {"messages": CHAT}),
    ("negated test with arguments", "{% for n in range(7) %}{% if n is not divisibleby(3) %}{{ n }}{% endif %}{% endfor %}", {}),
    ("nested namespace target", "{% set ns = namespace(inner=namespace(v=1)) %}{% set ns.inner.v = 2 %}", {}),
    ("floor division mix", "{{ 10 // 3 * 3 }} {{ -10 // 3 }} {{ 10 % 3.5 }} {{ 2 ** 0.5 }} {{ 1e308 * 10 }} {{ -1e308 * 10 }}", {}),
    ("string comparisons by code point", "{{ 'é' > 'z' }} {{ 'Z' < 'a' }} {{ 'ab' < 'abc' }} {{ ['a', 1] == ['a', 1.0] }}", {}),
    ("canonically equivalent keys stay apart", "{% set d = {'\u00e9': 1, 'e\u0301': 2} %}{{ d|length }}{{ d['\u00e9'] }}{{ d['e\u0301'] }}{{ '\u00e9' == 'e\u0301' }}", {}),
    ("loop over a string keeps combining marks apart", "{% for c in s %}[{{ c }}]{% endfor %}", {"s": "e\u0301🙂"}),
    # Filters.
    ("tojson", "{{ d|tojson }}|{{ d|tojson(indent=2) }}|{{ d|tojson(sort_keys=true) }}|{{ d|tojson(separators=(',', ':')) }}|{{ [1, [2, {}], []]|tojson(indent=1) }}|{{ 'x'|tojson }}|{{ none|tojson }}|{{ 1.0|tojson }}",
     {"d": {"b": 1, "a": [1, 2.5, None, True, "é\n\"<>&/\t\u0001"], "c": {}}}),
    ("tojson indent string and ascii", "{{ d|tojson(indent='\\t') }}|{{ 'é🙂'|tojson(ensure_ascii=true) }}|{{ (1, 2)|tojson }}", {"d": {"a": [1]}}),
    ("tojson of tools", "{% for tool in tools %}{{ tool|tojson }}\n{{ tool|tojson(indent=4) }}\n{% endfor %}", {"tools": TOOLS}),
    ("trim", "[{{ '  x \\n'|trim }}][{{ 'xxhixx'|trim('x') }}][{{ nothing|trim }}][{{ 5|trim }}]", {}),
    ("case filters", "{{ 'hello wORLD-foo bar(baz [q <r'|title }}|{{ \"it's o'neil\"|title }}|{{ 'hELLO wORLD'|capitalize }}|{{ 'Straße'|upper }}|{{ 'ÀB'|lower }}|{{ none|upper }}", {}),
    ("replace", "{{ 'aaaa'|replace('a', 'b', 2) }} {{ 'hello'|replace('l', '') }} {{ 'ab'|replace('', '-') }} {{ 'x'.replace('x', 'yy') }}", {}),
    ("length and count", "{{ 'héllo'|length }} {{ [1, 2]|count }} {{ {'a': 1}|length }} {{ nothing|length }} {{ '🙂'|length }}", {}),
    ("join", "{{ [1, 2, 3]|join }} {{ ['a', 'b']|join(', ') }} {{ users|join('/', attribute='name') }} {{ 'abc'|join('.') }}",
     {"users": [{"name": "x"}, {"name": "y"}]}),
    ("list first last", "{{ 'abc'|list }} {{ {'a': 1, 'b': 2}|list }} {{ [3, 4]|first }} {{ [3, 4]|last }} {{ 'xyz'|first }} [{{ []|first }}]", {}),
    ("map", "{{ users|map(attribute='name')|list }} {{ users|map(attribute='age', default=0)|list }} {{ ['a', 'b']|map('upper')|join }} {{ [1.6, 2.2]|map('round')|list }} {{ users|map(attribute='info.0')|list }}",
     {"users": [{"name": "x", "age": 3, "info": ["i0"]}, {"name": "y", "info": ["j0"]}]}),
    ("selectattr rejectattr", "{{ messages|selectattr('role', 'equalto', 'user')|map(attribute='content')|list }} {{ messages|rejectattr('role', 'eq', 'user')|list|length }} {{ xs|selectattr('on')|list }} {{ xs|rejectattr('on')|list }} {{ messages|selectattr('role', '==', 'system')|list|length }}",
     {"messages": CHAT, "xs": [{"on": True}, {"on": False}, {}]}),
    ("select reject", "{{ range(10)|select('odd')|list }} {{ range(10)|reject('even')|list }} {{ [0, 1, '', 'a', none]|select|list }} {{ [1, 2, 3]|select('gt', 1)|list }} {{ ['a', 'B']|select('lower')|list }} {{ [1, 2, 3]|select('in', [1, 3])|list }} {{ [3, 6, 7]|select('divisibleby', 3)|list }}", {}),
    ("default", "{{ nothing|default('d') }} {{ none|default('d') }} {{ ''|default('d') }} {{ ''|default('d', true) }} {{ 0|d('z', boolean=true) }} {{ 'v'|d('z') }} [{{ nothing|default }}]", {}),
    ("items filter", "{% for k, v in d|items %}{{ k }}{{ v }}{% endfor %}[{% for k, v in nothing|items %}x{% endfor %}]", {"d": {"z": 1, "a": 2}}),
    ("string int float", "{{ 5|string ~ 1 }} {{ '42'|int + 1 }} {{ '4.7'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ '0x1A'|int(0, 16) }} {{ '0b11'|int(0, 0) }} {{ 3.9|int }} {{ '3.5'|float }} {{ 'a'|float }} {{ true|int }} {{ ' 12 '|int }} {{ '1e3'|float }} {{ 'inf'|float }}", {}),
    ("indent", "[{{ 'a\\nb\\n\\nc'|indent(2) }}][{{ 'a\\nb'|indent(2, true) }}][{{ 'a\\n\\nb\\n'|indent(2, blank=true) }}][{{ 'a\\nb\\n'|indent }}][{{ 'x'|indent('> ', first=true) }}]", {}),
    ("escape safe", "{{ '<a href=\"x\">&\\'</a>'|e }} {{ '<b>'|escape }} {{ '<b>'|safe }} {{ 5|e }}", {}),
    ("abs round", "{{ -3|abs }} {{ (-3.5)|abs }} {{ 2.5|round }} {{ 3.5|round }} {{ 3|round }} {{ 2.567|round(2) }} {{ 2.675|round(2) }} {{ -2.5|round }} {{ 2.1|round(0, 'ceil') }} {{ 2.9|round(0, 'floor') }} {{ 1234.5|round(-2) }}", {}),
    ("unique sort reverse", "{{ [1, 2, 2, 'a', 'A']|unique|list }} {{ ['b', 'A', 'a']|sort }} {{ ['b', 'A', 'a']|sort(case_sensitive=true) }} {{ [3, 1, 2]|sort(reverse=true) }} {{ users|sort(attribute='n')|map(attribute='n')|list }} {{ [1, 2]|reverse|list }} {{ 'abc'|reverse }}",
     {"users": [{"n": 2}, {"n": 1}]}),
    ("sum min max", "{{ [1, 2, 3]|sum }} {{ users|sum(attribute='n') }} {{ [2, 1, 3]|min }} {{ ['b', 'A']|max }} {{ users|max(attribute='n') }} [{{ []|max }}]", {"users": [{"n": 2}, {"n": 5}]}),
    ("dictsort batch wordcount center", "{{ {'b': 1, 'A': 2}|dictsort }} {{ {'b': 1, 'a': 2}|dictsort(by='value', reverse=true) }} {{ [1, 2, 3]|batch(2)|list }} {{ [1, 2, 3]|batch(2, 0)|list }} {{ 'one two-three  four'|wordcount }} [{{ 'ab'|center(7) }}]", {}),
    ("attr format", "{{ d|attr('a') }}[{{ d|attr('zz') }}] {{ '%s=%d (%.2f) %5s|%-4s|%05.1f %x %%'|format('k', 42, 3.14159, 'r', 'l', 2.25, 255) }} {{ '%s and %s' % ('a', 'b') }} {{ '%(x)s!' % {'x': 1} }}",
     {"d": {"a": 1}}),
    # Tests.
    ("tests", "{{ nothing is defined }} {{ nothing is undefined }} {{ none is none }} {{ 'a' is string }} {{ d is mapping }} {{ 'a' is iterable }} {{ 5 is iterable }} {{ 'a' is sequence }} {{ d is sequence }} {{ 1 is number }} {{ true is number }} {{ 1.0 is number }} {{ '1' is number }}",
     {"d": {}}),
    ("more tests", "{{ true is boolean }} {{ 1 is boolean }} {{ 1 is integer }} {{ true is integer }} {{ 1.0 is float }} {{ true is true }} {{ 1 is true }} {{ false is false }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'aB' is lower }}", {}),
    ("comparison tests", "{{ 'a' is eq 'a' }} {{ 'a' is equalto('b') }} {{ 1 is ne 2 }} {{ 2 is gt 1 }} {{ 2 is ge 3 }} {{ 1 is lt 2 }} {{ 2 is le 2 }} {{ 1 is in [1, 2] }} {{ 'x' is not in 'abc' }} {{ none is sameas none }} {{ 1 is not none }}", {}),
    ("callable and filter tests", "{{ range is callable }} {{ 'x' is callable }} {{ 'upper' is filter }} {{ 'nope' is filter }} {{ 'odd' is test }} {{ 'x'.upper is callable }}", {}),
    ("not with is", "{{ not nothing is defined }} {{ not 'x' is string }} {{ nothing is not defined and true }}", {}),
    # String methods.
    ("string methods", "{{ s.startswith('He') }} {{ s.endswith(('x', 'ld')) }} {{ s.upper() }} {{ s.lower() }} {{ s.title() }} {{ 'hELLO'.capitalize() }} {{ s.find('o') }} {{ s.rfind('o') }} {{ s.find('z') }} {{ s.count('l') }} {{ '-'.join(['a', 'b']) }} {{ s.swapcase() }}",
     {"s": "Hello World"}),
    ("strip methods", "[{{ '  a  '.strip() }}][{{ 'xxaxx'.strip('x') }}][{{ '\\n\\na\\n'.lstrip('\\n') }}][{{ 'a  '.rstrip() }}][{{ 'abcba'.strip('ab') }}][{{ '\\u3000a\\xa0'.strip() }}]", {}),
    ("split methods", "{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ '</think>x</think>y'.split('</think>')[-1] }} {{ ''.split(',') }} {{ ''.split() }} {{ 'a\\nb\\r\\nc'.splitlines() }} {{ '  a b  c '.rsplit(None, 1) }}", {}),
    ("misc string methods", "{{ 'ab'.replace('a', 'c') }} {{ '42'.isdigit() }} {{ 'ab'.isalpha() }} {{ '  '.isspace() }} {{ '7'.zfill(3) }} {{ 'ab'.ljust(4, '.') }}| {{ 'ab'.rjust(4) }} {{ 'ab'.center(6, '*') }} {{ 'x.py'.removesuffix('.py') }} {{ 'a=b=c'.partition('=') }} {{ '{} {}'.format('a', 1) }} {{ '{0}-{name}'.format('z', name='n') }} {{ '{:>5}|{:.2f}'.format('r', 3.14159) }}", {}),
    ("list methods", "{{ [1, 2, 2].count(2) }} {{ ['a', 'b'].index('b') }}", {}),
    # Globals.
    ("range", "{{ range(3)|list }} {{ range(1, 4)|list }} {{ range(10, 0, -3)|list }} {{ range(0)|list }} {{ range(5, 1)|list }}", {}),
    ("dict global", "{{ dict(a=1, b=2) }} {{ dict([('x', 1)]) }}", {}),
    ("strftime_now", "{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%A %B %-d %H:%M:%S %j %y %m %a %%') }}|{{ strftime_now('%I %p %e %F %T %D %w %u %U %W') }}", {}),
    ("bos eos and defaults", "{{ bos_token }}{{ eos_token }}{{ tools is none }}{{ documents is defined }}{{ add_generation_prompt }}", {"add_generation_prompt": True}),
    ("extra variables", "{{ enable_thinking }} {{ custom.n + 1 }}", {"enable_thinking": False, "custom": {"n": 41}}),
    # Errors raised while rendering.
    ("raise_exception", "{{ raise_exception('Only user and assistant roles are supported!') }}", {}),
    ("raise_exception inside loop", "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{{ m.content }}{% endfor %}", {"messages": CHAT}),
    ("undefined attribute of undefined", "{{ nothing.attr }}", {}),
    ("undefined attribute chain", "{{ d.missing.attr }}", {"d": {}}),
    ("undefined list element chain", "{{ xs[5].role }}", {"xs": [1]}),
    ("undefined arithmetic", "{{ nothing + 1 }}", {}),
    ("str plus int", "{{ 'a' + 1 }}", {}),
    ("int plus str", "{{ 1 + 'a' }}", {}),
    ("none plus int", "{{ none + 1 }}", {}),
    ("unorderable", "{{ 1 < 'a' }}", {}),
    ("division by zero", "{{ 1 / 0 }}", {}),
    ("modulo by zero", "{{ 1 % 0 }}", {}),
    ("calling undefined", "{{ nothing() }}", {}),
    ("calling a string", "{{ 'x'() }}", {}),
    ("unknown string method", "{{ 'x'.nosuch() }}", {}),
    ("list append is unsafe", "{% set xs = [] %}{{ xs.append(1) }}", {}),
    ("dict update is unsafe", "{{ d.update({'a': 1}) }}", {"d": {}}),
    ("unpacking mismatch", "{% for a, b in [(1, 2, 3)] %}{% endfor %}", {}),
    ("not iterable", "{% for x in 5 %}{% endfor %}", {}),
    ("none not iterable", "{% for x in none %}{% endfor %}", {}),
    ("range too big", "{{ range(1000000)|length }}", {}),
    ("unhashable key", "{{ {[1]: 2} }}", {}),
    ("items of a list", "{{ [1]|items|list }}", {}),
    ("macro too many arguments", "{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", {}),
    ("macro unknown keyword", "{% macro m(a) %}{% endmacro %}{{ m(b=2) }}", {}),
    ("set attribute on non-namespace", "{% set d = {} %}{% set d.x = 1 %}", {}),
    ("in needs string", "{{ 1 in 'abc' }}", {}),
    ("negating a list", "{{ -[1] }}", {}),
    # Errors at load.
    ("unknown filter", "{{ x|nosuch }}", {}),
    ("unknown filter in dead branch", "{% if false %}{{ x|nosuch }}{% endif %}{{ 1 if true else y|nosuch }}", {}),
    ("unknown filter reached in a branch", "{% if true %}{{ x|nosuch }}{% endif %}", {}),
    ("unknown test reached in a condition", "{% if x is nosuch %}{% endif %}", {}),
    ("unknown filter in a loop inside a branch", "{% if false %}{% for x in [] %}{{ x|nosuch }}{% endfor %}{% endif %}", {}),
    ("unknown filter in a macro inside a branch", "{% if false %}{% macro m() %}{{ x|nosuch }}{% endmacro %}{% endif %}", {}),
    ("unknown filter named by map", "{{ [1]|map('nosuch')|list }}", {}),
    ("unknown test named by select", "{{ [1]|select('nosuch')|list }}", {}),
    ("unknown test", "{{ x is nosuch }}", {}),
    ("unclosed if", "{% if true %}open", {}),
    ("mismatched end tag", "{% if true %}{% endfor %}", {}),
    ("unknown tag", "{% frobnicate %}", {}),
    ("missing block end", "{% if true }}{% endif %}", {}),
    ("break outside loop", "{% break %}", {}),
    ("break inside macro inside loop", "{% for x in [1] %}{% macro m() %}{% break %}{% endmacro %}{% endfor %}", {}),
    ("unclosed variable", "{{ 1 + ", {}),
    ("unclosed string", "{{ 'abc }}", {}),
    ("unbalanced bracket", "{{ (1 + 2 }}", {}),
    ("unexpected closing bracket", "{{ 1 ] }}", {}),
    ("unclosed comment", "{# never closed", {}),
    ("chained tests", "{{ 1 is odd is number }}", {}),
    ("assign to literal", "{% set true = 1 %}", {}),
    ("empty expression", "{{ }}", {}),
    ("default after plain parameter", "{% macro m(a=1, b) %}{% endmacro %}", {}),
]

# The real templates in ../shared/templates with conversations the golden file leaves out:
# tools, tool calls and their results, reasoning, extra variables.
SHARED_CASES = [
    ("Qwen-Qwen2.5-7B-Instruct.jinja", {"messages": TOOL_CHAT, "tools": TOOLS, "add_generation_prompt": True}),
    ("Qwen-Qwen2.5-7B-Instruct.jinja", {"messages": TOOL_CHAT[1:], "add_generation_prompt": True}),
    ("Qwen-Qwen3-0.6B.jinja", {"messages": TOOL_CHAT, "tools": TOOLS, "add_generation_prompt": True}),
    ("Qwen-Qwen3-0.6B.jinja", {"messages": THINK_CHAT, "add_generation_prompt": True, "enable_thinking": False}),
    ("Qwen-Qwen3-0.6B.jinja", {"messages": THINK_CHAT + [{"role": "assistant", "content": "ok", "reasoning_content": "why"}]}),
    ("meta-llama-Llama-3.1-8B-Instruct.jinja", {"messages": TOOL_CHAT, "tools": TOOLS, "add_generation_prompt": True}),
    ("meta-llama-Llama-3.1-8B-Instruct.jinja", {"messages": TOOL_CHAT, "tools": TOOLS, "tools_in_user_message": False,
                                                "date_string": "01 Feb 2025", "builtin_tools": ["brave_search", "code_interpreter"]}),
    ("meta-llama-Llama-3.2-3B-Instruct.jinja", {"messages": TOOL_CHAT, "tools": TOOLS, "add_generation_prompt": True}),
    ("mistralai-Mistral-Nemo-Instruct-2407.jinja", {"messages": TOOL_CHAT[1:], "tools": TOOLS, "add_generation_prompt": True}),
    ("mistralai-Mistral-Nemo-Instruct-2407.jinja", {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}),
    ("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", {"messages": TOOL_CHAT + THINK_CHAT, "add_generation_prompt": True}),
    ("HuggingFaceTB-SmolLM3-3B.jinja", {"messages": TOOL_CHAT, "enable_thinking": False, "add_generation_prompt": True}),
    ("HuggingFaceTB-SmolLM3-3B.jinja", {"messages": [{"role": "system", "content": "Terse. /no_think"}] + THINK_CHAT}),
    ("google-gemma-2-2b-it.jinja", {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}),
    ("microsoft-Phi-3.5-mini-instruct.jinja", {"messages": CHAT + [{"role": "system", "content": ""}], "add_generation_prompt": False}),
]

def main():
    cases = []
    for name, source, variables in CASES:
        case = {"name": name, "template": source, "variables": variables}
        case.update(render(source, variables))
        cases.append(case)
    for file, variables in SHARED_CASES:
        with open(os.path.join(SHARED, file), encoding="utf-8") as handle:
            source = handle.read()
        case = {"name": "%s with %s" % (file, ", ".join(sorted(variables))), "template_file": file, "variables": variables}
        case.update(render(source, variables))
        cases.append(case)
    document = {
        "source": "scripts/chat_template_fixtures.py with Python %s, jinja2 %s" % (sys.version.split()[0], jinja2.__version__),
        "cases": cases,
    }
    with open(OUT, "w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=1)
        handle.write("\n")
    print("%d cases written to %s" % (len(cases), os.path.relpath(OUT)))


if __name__ == "__main__":
    main()
