"""FEEL unary tests and literals, as dmn-js writes them, parsed into a small syntax tree.

The tree is turned into sandboxed Python for the decision engine, engine.workflow.decide (the input value is
the name `dmninputexpr`) and into the exact set of values a cell matches (for type checks,
empty cells and overlapping UNIQUE rules). Supported, per the DMN 1.3 simple unary tests and
dmn-js's simple-mode editors: `-` or empty, literals (numbers, "strings", true, false, null,
date("2024-01-31")), comparisons `< <= > >= = !=`, intervals `[a..b]` `]a..b]` `(a..b)` `[a..b[`,
comma lists and `not(...)`. Anything else is refused with a message saying what was found,
so no cell silently never matches.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Optional, Union

from engine.workflow.valueset import Interval, ValueSet

INPUT_NAME = "dmninputexpr"
KIND_LABELS = {"number": "数字", "integer": "整数", "string": "字符串", "boolean": "布尔值", "date": "日期", "null": "空值 null"}
UNSUPPORTED_FUNCTIONS = {
    "date and time": "日期时间 date and time",
    "time": "时间 time",
    "duration": "时长 duration",
}
_SUPPORTED = "支持：-（任意）、字面值（数字、\"字符串\"、true、false、null、date(\"2024-01-31\")）、比较（< 20、>= 3）、区间（[20..50]、]20..50]）、逗号列表和 not(...)"


class BadEscape(ValueError):
    """A string literal with an escape FEEL does not have; the message names it."""


class FeelError(ValueError):
    """A FEEL cell that is not understood or cannot match; the message says what to fix."""


@dataclass(frozen=True)
class Literal:
    """One FEEL literal: kind is number, string, boolean, null or date; value is its Python value."""

    kind: str
    value: Union[Decimal, str, bool, None]
    text: str

    def python(self) -> str:
        """The literal as Python source that contains no quote-confusing characters."""
        if self.kind == "number":
            assert isinstance(self.value, Decimal)
            return format(self.value, "f")
        if self.kind == "boolean":
            return "True" if self.value else "False"
        if self.kind == "null":
            return "None"
        assert isinstance(self.value, str)
        return _python_string(self.value)


@dataclass(frozen=True)
class Compare:
    """A comparison with a literal: `< 20`, `>= 3`, `= "a"`, `!= 5` or a bare literal (`=`)."""

    op: str
    literal: Literal


@dataclass(frozen=True)
class Range:
    """An interval `[lo..hi]`; `*_closed` tells whether the end is included."""

    lo: Literal
    lo_closed: bool
    hi: Literal
    hi_closed: bool


Positive = Union[Compare, Range]


@dataclass(frozen=True)
class UnaryTests:
    """A whole cell: `any` (`-`), or positive tests joined by commas, maybe negated by not(...)."""

    tests: tuple[Positive, ...] = ()
    negated: bool = False

    @property
    def any(self) -> bool:
        """True for `-` or an empty cell (matches every value)."""
        return not self.tests

    def literals(self) -> list[Literal]:
        """Every literal used in the cell."""
        found: list[Literal] = []
        for test in self.tests:
            found += [test.literal] if isinstance(test, Compare) else [test.lo, test.hi]
        return found

    def python(self) -> Optional[str]:
        """Sandboxed Python over `dmninputexpr`; None means the cell matches anything."""
        if self.any:
            return None
        x = INPUT_NAME
        equals = [t.literal for t in self.tests if isinstance(t, Compare) and t.op == "="]
        if len(equals) == len(self.tests) > 1 and all(lit.kind in ("number", "string", "date") for lit in equals):
            positive = f"{x} in ({', '.join(lit.python() for lit in equals)},)"
        else:
            parts = [_positive_python(t) for t in self.tests]
            positive = parts[0] if len(parts) == 1 else " or ".join(f"({p})" for p in parts)
        return f"{x} is not None and not ({positive})" if self.negated else positive

    def value_set(self) -> ValueSet:
        """The exact set of values the cell matches (null included only via `-` or `null`)."""
        if self.any:
            return ValueSet.anything()
        result = ValueSet()
        for test in self.tests:
            result = result.union(_positive_set(test))
        return result.complement() if self.negated else result


def _positive_python(test: Positive) -> str:
    x = INPUT_NAME
    if isinstance(test, Range):
        low = "<=" if test.lo_closed else "<"
        high = "<=" if test.hi_closed else "<"
        return f"{x} is not None and {test.lo.python()} {low} {x} {high} {test.hi.python()}"
    lit, op = test.literal, test.op
    if lit.kind in ("boolean", "null"):
        identity = f"{x} is {lit.python()}"
        return identity if op == "=" else f"not ({identity})" if lit.kind == "null" else f"{x} is not None and not ({identity})"
    if op == "=":
        return f"{x} == {lit.python()}"
    return f"{x} is not None and {x} {op} {lit.python()}"


def _positive_set(test: Positive) -> ValueSet:
    if isinstance(test, Range):
        return ValueSet.of([Interval(test.lo.value, test.lo_closed, test.hi.value, test.hi_closed)])
    lit, op = test.literal, test.op
    if lit.kind == "null":
        return ValueSet(null=True) if op == "=" else ValueSet((Interval(),))
    value = lit.value
    shapes = {
        "=": [Interval.point(value)],
        "!=": [Interval(None, False, value, False), Interval(value, False, None, False)],
        "<": [Interval(None, False, value, False)],
        "<=": [Interval(None, False, value, True)],
        ">": [Interval(value, False, None, False)],
        ">=": [Interval(value, True, None, False)],
    }
    return ValueSet.of(shapes[op])


def _python_string(value: str) -> str:
    """A Python string literal escaping quotes, backslashes and `?` (the DMN engine rewrites bare `?`)."""
    out = []
    for ch in value:
        if ch in "'\"\\?" or ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "'" + "".join(out) + "'"


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<range>\.\.)
    | (?P<number>-?(?:\d+(?:\.\d+)?|\.\d+))
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<op><=|>=|!=|<|>|=)
    | (?P<punct>[\[\]\(\),])
    | (?P<name>date\s+and\s+time|[^\W\d][\w]*)
    | (?P<other>\S)
    )""",
    re.VERBOSE,
)
_STRING_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "'": "'"}


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            break
        kind = match.lastgroup or "other"
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class TokenCursor:
    """A read position over a list of (kind, text) tokens, with ("end", "") past the last."""

    def __init__(self, text: str, tokens: list[tuple[str, str]]) -> None:
        self.text = text
        self.tokens = tokens
        self.pos = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        """The token `offset` ahead, not consumed."""
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        """The next token, consumed."""
        token = self.peek()
        self.pos += 1
        return token


class _Parser(TokenCursor):
    """Recursive-descent parser over the tokens of one cell."""

    def __init__(self, text: str) -> None:
        super().__init__(text, _tokens(text))

    def expect(self, value: str) -> None:
        kind, got = self.take()
        if got != value:
            found = got if kind != "end" else "结尾"
            raise FeelError(f"“{self.text}”：此处应为“{value}”，却是“{found}”。{_SUPPORTED}")

    def fail(self, what: str) -> FeelError:
        if "?" in self.text:
            what += "（单元格直接写 FEEL 条件，如 ]30..50]，不要写 ? 或 Python 表达式）"
        return FeelError(f"无法识别的 FEEL 条件“{self.text}”：{what}。{_SUPPORTED}")

    def unary_tests(self) -> UnaryTests:
        negated = False
        if self.peek() == ("name", "not") and self.peek(1) == ("punct", "("):
            self.pos += 2
            negated = True
        tests = [self.positive()]
        while self.peek() == ("punct", ","):
            self.take()
            if self.peek()[0] == "end" or self.peek() == ("punct", ")"):
                raise FeelError(f"“{self.text}”：逗号后缺少条件（列表中有空项）")
            tests.append(self.positive())
        if negated:
            self.expect(")")
        if self.peek()[0] != "end":
            raise self.fail(f"多余的“{self.peek()[1]}”")
        return UnaryTests(tuple(tests), negated)

    def positive(self) -> Positive:
        kind, value = self.peek()
        if kind == "op":
            self.take()
            return Compare(value, self.literal())
        if kind == "punct" and value in "[](":
            self.take()
            lo = self.literal()
            self.expect("..")
            hi = self.literal()
            kind_end, end = self.take()
            if end not in ("]", "[", ")"):
                raise FeelError(f"“{self.text}”：区间应以“]”“[”或“)”结束")
            return Range(lo, value == "[", hi, end == "]")
        return Compare("=", self.literal())

    def literal(self) -> Literal:
        kind, value = self.take()
        if kind == "number":
            return Literal("number", Decimal(value), value)
        if kind == "string":
            try:
                return Literal("string", unescape_string(value[1:-1]), value)
            except BadEscape as exc:
                raise FeelError(f"“{self.text}”：{exc}") from None
        if kind == "name" and value in ("true", "false"):
            return Literal("boolean", value == "true", value)
        if kind == "name" and value == "null":
            return Literal("null", None, value)
        if kind == "name" and (value == "date" or value.startswith("date ") or value in UNSUPPORTED_FUNCTIONS):
            return self.temporal(re.sub(r"\s+", " ", value))
        if kind == "end":
            raise self.fail("条件不完整")
        if value == '"':
            raise self.fail("字符串缺少结束引号")
        if kind == "name":
            raise self.fail(f"“{value}”不是字面值（单元格中不支持引用变量或函数）")
        raise self.fail(f"意外的“{value}”")

    def temporal(self, function: str) -> Literal:
        if function in UNSUPPORTED_FUNCTIONS:
            raise FeelError(f"“{self.text}”：本系统的决策表暂不支持{UNSUPPORTED_FUNCTIONS[function]}类型，请改用日期 date(\"YYYY-MM-DD\")、数字或字符串")
        self.expect("(")
        kind, value = self.take()
        if kind != "string":
            raise FeelError(f"“{self.text}”：date(...) 中应为带引号的日期，如 date(\"2024-01-31\")")
        iso = value[1:-1]
        try:
            if not re.fullmatch(r"\d{4}-\d\d-\d\d", iso):
                raise ValueError(iso)
            date.fromisoformat(iso)
        except ValueError as exc:
            raise FeelError(f"“{self.text}”：{iso} 不是有效日期（格式 YYYY-MM-DD）") from exc
        self.expect(")")
        return Literal("date", iso, f"date({value})")


def unescape_string(body: str) -> str:
    """The text a FEEL string literal's body stands for (\\", \\n, \\uXXXX …); BadEscape names an escape FEEL does not have."""
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1 : i + 2]
            if nxt in _STRING_ESCAPES:
                out.append(_STRING_ESCAPES[nxt])
                i += 2
                continue
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            raise BadEscape(f"字符串中有无法识别的转义“\\{nxt}”")
        out.append(ch)
        i += 1
    return "".join(out)


def check_kinds(tests: UnaryTests, column_kind: Optional[str]) -> None:
    """Refuse literals whose type differs from the column's (such a cell would never match)."""
    for test in tests.tests:
        if isinstance(test, Range) and column_kind == "boolean" or (
            isinstance(test, Compare) and test.op not in ("=", "!=") and column_kind == "boolean"
        ):
            raise FeelError("布尔列只能填写 true、false、not(...) 或 -，不能使用比较或区间")
        for lit in [test.literal] if isinstance(test, Compare) else [test.lo, test.hi]:
            if lit.kind == "null":
                if isinstance(test, Range) or test.op not in ("=", "!="):
                    raise FeelError("null 只能直接填写或用 not(null)，不能用于比较或区间")
                continue
            if lit.kind == "boolean" and isinstance(test, Compare) and test.op not in ("=", "!="):
                raise FeelError(f"true/false 不能用于大小比较：“{lit.text}”")
            expected = "number" if column_kind == "integer" else column_kind
            if column_kind is not None and lit.kind != expected:
                raise FeelError(
                    f"“{lit.text}”是{KIND_LABELS[lit.kind]}，与该列的{KIND_LABELS[column_kind]}类型不符，此单元格永远不会匹配"
                )
        if isinstance(test, Range) and test.lo.kind != test.hi.kind:
            raise FeelError(f"区间两端类型不一致：“{test.lo.text}”与“{test.hi.text}”")


MAX_CELL_LITERALS = 200


def parse_unary_tests(text: Optional[str]) -> UnaryTests:
    """Parse one input cell; `-`, empty or None match anything."""
    stripped = (text or "").strip()
    if stripped in ("", "-"):
        return UnaryTests()
    parser = _Parser(stripped)
    if not parser.tokens:
        raise parser.fail("内容为空")
    tests = parser.unary_tests()
    if len(tests.literals()) > MAX_CELL_LITERALS:
        raise parser.fail(f"一个单元格最多列出 {MAX_CELL_LITERALS} 个取值，请拆成多条规则或改用区间")
    return tests


def parse_literal(text: Optional[str]) -> Literal:
    """Parse one output cell: a single FEEL literal."""
    stripped = (text or "").strip()
    if not stripped:
        raise FeelError("输出单元格为空，请填写输出值（如 \"T1\"）")
    parser = _Parser(stripped)
    literal = parser.literal()
    if parser.peek()[0] != "end":
        raise FeelError(f"输出“{stripped}”不是单个字面值（数字、\"字符串\"、true、false、null 或 date(...)）")
    return literal


def unary_test_to_python(text: Optional[str]) -> Optional[str]:
    """Translate an input cell to sandboxed Python; None means "matches anything"."""
    return parse_unary_tests(text).python()


def literal_to_python(text: str) -> str:
    """Translate an output cell (one FEEL literal) to Python source."""
    return parse_literal(text).python()
