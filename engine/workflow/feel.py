"""FEEL unary tests and literals, as dmn-js writes them, parsed into a small syntax tree.

The tree is turned into sandboxed Python for the decision engine, engine.workflow.decide (the input value is
the name `dmninputexpr`) and into the exact set of values a cell matches (for type checks,
empty cells and overlapping UNIQUE rules). Supported, per the DMN 1.3 simple unary tests and
dmn-js's simple-mode editors: `-` or empty, literals (numbers, "strings", true, false, null,
date("2024-01-31"), date and time("2024-01-31T09:30:00"), time("09:30:00"), duration("P30D"),
duration("P1Y6M") and the same as @"…"), comparisons `< <= > >= = !=`, intervals `[a..b]`
`]a..b]` `(a..b)` `[a..b[`, comma lists and `not(...)`. Anything else is refused with a message
saying what was found, so no cell silently never matches.

Dates, times and durations compare as FEEL says (feel_lib's constructors and comparisons): within
their kind only, so a days-and-time duration (P30D) and a years-and-months one (P1Y) never meet,
nor do a date and a date and time. A date and time or time may carry an offset (Z, +08:00), and a
date and time a named zone (@Asia/Shanghai); one with a zone or offset and one without cannot be
compared, which FEEL makes null: such a test does not match. Process data keeps dates and
years-and-months durations as ISO text, so an input that is text is read by the cell literal's own
constructor (date("…"), date and time("…") …) before it is compared; a datetime or timedelta from
the data is used as it is. A cell with such literals, or with literals of several kinds, is
compiled to FEEL's three-valued comparisons (feel_lib); other cells to plain Python comparisons.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Callable, Optional, Union

from engine.workflow.sandbox.feel_lib import YearsMonths, parse_date, parse_datetime, parse_duration, parse_temporal, parse_time
from engine.workflow.valueset import Interval, ValueSet

INPUT_NAME = "dmninputexpr"
KIND_LABELS = {
    "number": "数字", "integer": "整数", "string": "字符串", "boolean": "布尔值", "date": "日期", "null": "空值 null",
    "date and time": "日期时间", "time": "时间", "days and time duration": "日时长（天、时、分、秒）",
    "years and months duration": "年月时长（年、月）",
}
TEMPORAL_FUNCTIONS = {
    "date": "date", "date and time": "date and time", "time": "time",
    "days and time duration": "duration", "years and months duration": "duration",
}
_FORMS: dict[str, tuple[str, Callable[[str], Any], str]] = {
    "date": ("日期", parse_date, "YYYY-MM-DD，如 date(\"2024-01-31\")"),
    "date and time": ("日期时间", parse_datetime, "YYYY-MM-DDThh:mm:ss，可带时差 Z、+08:00 或时区 @Asia/Shanghai，如 date and time(\"2024-01-31T09:30:00\")"),
    "time": ("时间", parse_time, "hh:mm:ss，可带时差 Z 或 +08:00，如 time(\"09:30:00\")"),
    "duration": ("时长", parse_duration, "日时长如 duration(\"P30D\")、duration(\"PT2H30M\")，或年月时长如 duration(\"P1Y6M\")，两者不能混写"),
    "@": ("日期、时间或时长", parse_temporal, "如 @\"2024-01-31\"、@\"2024-01-31T09:30:00\"、@\"P30D\""),
}
_SUPPORTED = (
    "支持：-（任意）、字面值（数字、\"字符串\"、true、false、null、date(\"2024-01-31\")、date and time(\"2024-01-31T09:30:00\")、"
    "time(\"09:30:00\")、duration(\"P30D\")）、比较（< 20、>= 3）、区间（[20..50]、]20..50]）、逗号列表和 not(...)"
)


class BadEscape(ValueError):
    """A string literal with an escape FEEL does not have; the message names it."""


class FeelError(ValueError):
    """A FEEL cell that is not understood or cannot match; the message says what to fix."""


Value = Union[Decimal, str, bool, None, date, time, timedelta, YearsMonths]


@dataclass(frozen=True)
class Literal:
    """One FEEL literal: kind is number, string, boolean, null or a key of TEMPORAL_FUNCTIONS; value is its Python value.

    A date, time or duration keeps the ISO text it was written with (`iso`), which its Python source passes
    to the FEEL constructor, as a literal expression does.
    """

    kind: str
    value: Value
    text: str
    iso: str = ""

    @property
    def temporal(self) -> bool:
        """True for a date, date and time, time or duration."""
        return self.kind in TEMPORAL_FUNCTIONS

    def python(self) -> str:
        """The literal as Python source that contains no quote-confusing characters."""
        if self.temporal:
            return f"feel_call({_python_string(TEMPORAL_FUNCTIONS[self.kind])}, [{_python_string(self.iso)}], {{}})"
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
        """Sandboxed Python over `dmninputexpr`; None means the cell matches anything.

        Cells with a date, time or duration, or with literals of several kinds, run FEEL's comparisons
        (feel_lib), where a test between different kinds is null; the others plain Python comparisons.
        """
        if self.any:
            return None
        x = INPUT_NAME
        kinds = {lit.kind for lit in self.literals() if lit.kind != "null"}
        if len(kinds) > 1 or any(kind in TEMPORAL_FUNCTIONS for kind in kinds):
            return _feel_python(self)
        equals = [t.literal for t in self.tests if isinstance(t, Compare) and t.op == "="]
        if len(equals) == len(self.tests) > 1 and all(lit.kind in ("number", "string") for lit in equals):
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


def _feel_python(tests: UnaryTests) -> str:
    """The cell as FEEL's `input in (tests)`: each literal's kind reads text input with its own constructor."""
    x = INPUT_NAME
    groups: dict[str, list[str]] = {}
    for test in tests.tests:
        literal = test.literal if isinstance(test, Compare) else test.lo
        groups.setdefault(TEMPORAL_FUNCTIONS.get(literal.kind, ""), []).append(_feel_test(test))
    parts = [
        f"feel_in({f'feel_cell_input({_python_string(function)}, {x})' if function else x}, [{', '.join(items)}])"
        for function, items in groups.items()
    ]
    positive = parts[0] if len(parts) == 1 else f"feel_some([{', '.join(parts)}])"
    return f"{x} is not None and feel_not({positive}) is True" if tests.negated else f"{positive} is True"


def _feel_test(test: Positive) -> str:
    if isinstance(test, Range):
        return f"feel_range({test.lo.python()}, {test.lo_closed}, {test.hi.python()}, {test.hi_closed})"
    if test.op == "=":
        return test.literal.python()
    return f"feel_test({_python_string(test.op)}, {test.literal.python()})"


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
        function = re.sub(r"\s+", " ", value)
        if kind == "name" and function in TEMPORAL_FUNCTIONS.values() and self.peek() == ("punct", "("):
            self.take()
            return self.temporal(function, f"{function}(")
        if (kind, value) == ("other", "@") and self.peek()[0] == "string":
            return self.temporal("@", "@")
        if kind == "end":
            raise self.fail("条件不完整")
        if value == '"':
            raise self.fail("字符串缺少结束引号")
        if kind == "name":
            raise self.fail(f"“{value}”不是字面值（单元格中不支持引用变量或函数）")
        raise self.fail(f"意外的“{value}”")

    def temporal(self, function: str, opening: str) -> Literal:
        """The rest of `date("…")`, `date and time("…")`, `time("…")`, `duration("…")` or `@"…"`, checked as FEEL reads it."""
        name, read, form = _FORMS[function]
        kind, value = self.take()
        if kind != "string" or (function != "@" and self.peek() != ("punct", ")")):
            raise FeelError(f"“{self.text}”：{opening}...) 中应为一个带引号的{name}，格式 {form}")
        try:
            iso = unescape_string(value[1:-1])
            found = read(iso)
        except BadEscape as exc:
            raise FeelError(f"“{self.text}”：{exc}") from None
        except ValueError as exc:
            raise FeelError(f"“{self.text}”：{iso} 不是有效{name}（格式 {form}）") from exc
        if function != "@":
            self.take()
        return Literal(temporal_kind(found), found, f"{opening}{value}{')' if function != '@' else ''}", iso)


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


def temporal_kind(value: Any) -> str:
    """The kind (a key of TEMPORAL_FUNCTIONS) of a parsed date, time or duration."""
    if isinstance(value, datetime):
        return "date and time"
    if isinstance(value, date):
        return "date"
    if isinstance(value, time):
        return "time"
    return "days and time duration" if isinstance(value, timedelta) else "years and months duration"


def _zoned(literal: Literal) -> Optional[bool]:
    """Whether a date and time or time literal carries a zone or offset (None for other literals)."""
    value = literal.value
    return value.tzinfo is not None if isinstance(value, (datetime, time)) else None


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
        if isinstance(test, Range) and _zoned(test.lo) != _zoned(test.hi):
            raise FeelError(
                f"区间两端“{test.lo.text}”与“{test.hi.text}”一个带时区或时差、一个不带，FEEL 中两者无法比较，此单元格永远不会匹配"
            )


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
        raise FeelError(f"输出“{stripped}”不是单个字面值（数字、\"字符串\"、true、false、null、date(...)、date and time(...)、time(...) 或 duration(...)）")
    return literal


_TEMPORAL_LITERAL = re.compile(r'\s*(?:(?:date\s+and\s+time|date|time|duration)\s*\(\s*|@)"(?:[^"\\]|\\.)*"\s*\)?\s*')


def written_as_temporal(text: str) -> bool:
    """True when a cell is written as one date, time or duration literal (a bad one is refused, not run as an expression)."""
    return _TEMPORAL_LITERAL.fullmatch(text) is not None


def unary_test_to_python(text: Optional[str]) -> Optional[str]:
    """Translate an input cell to sandboxed Python; None means "matches anything"."""
    return parse_unary_tests(text).python()


def literal_to_python(text: str) -> str:
    """Translate an output cell (one FEEL literal) to Python source."""
    return parse_literal(text).python()
