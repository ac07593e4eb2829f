"""FEEL's semantics and its DMN 1.3 built-in functions, as the functions compiled FEEL calls inside the sandbox.

Numbers are decimals (34 digits, as FEEL's decimal128); null propagates through arithmetic,
a comparison between different kinds is null, `and`/`or` are three-valued. Every loop ticks
the evaluation's budget and every result that can grow is measured, like any other
sandboxed operation. Regular expressions run on RE2 (linear time).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Context, Decimal, InvalidOperation, ROUND_FLOOR, ROUND_CEILING, ROUND_HALF_EVEN
from typing import Any, Callable, Optional
from zoneinfo import ZoneInfo

import re2

from engine.workflow.sandbox import guards

DECIMALS = Context(prec=34)
Function = Callable[..., Any]


def feel(function: Function) -> Function:
    """Mark a function as callable from compiled FEEL (the sandbox's call guard admits it)."""
    setattr(function, "__feel__", True)  # noqa: B010 - a Callable has no such attribute for the type checker
    return function


@dataclass(frozen=True, order=True)
class YearsMonths:
    """A years-and-months duration, counted in months (ordered among themselves, never against a days-and-time duration)."""

    months: int

    def iso(self) -> str:
        """ISO 8601 text, as FEEL's string() writes it."""
        sign, months = ("-" if self.months < 0 else ""), abs(self.months)
        years, rest = divmod(months, 12)
        return f"{sign}P{years}Y{rest}M" if years else f"{sign}P{rest}M"


@dataclass(frozen=True)
class Range:
    """A FEEL range `[lo..hi]`; `*_closed` tells whether the end is included; None is unbounded."""

    lo: Any
    lo_closed: bool
    hi: Any
    hi_closed: bool

    def holds(self, value: Any) -> Optional[bool]:
        """Whether `value` lies in the range (null when it cannot be compared)."""
        low = None if self.lo is None else (ge(value, self.lo) if self.lo_closed else gt(value, self.lo))
        high = None if self.hi is None else (le(value, self.hi) if self.hi_closed else lt(value, self.hi))
        return conjunction([x for x in (low, high) if x is not None] or [None])


@dataclass(frozen=True)
class Test:
    """A unary test such as `< 5` used after `in`."""

    op: str
    value: Any

    def holds(self, value: Any) -> Optional[bool]:
        """Apply the test to `value`."""
        return COMPARISONS[self.op](value, self.value)


class Scope:
    """Names visible to an expression: the data, then each name bound by for, some, every, filters and contexts."""

    __slots__ = ("parent", "names")

    def __init__(self, names: dict[str, Any], parent: Optional["Scope"] = None) -> None:
        self.names, self.parent = names, parent

    def lookup(self, name: str) -> Any:
        """The value of `name`, or null when nothing binds it."""
        scope: Optional[Scope] = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name]
            scope = scope.parent
        if "." in name:
            head, _, rest = name.partition(".")
            return path(self.lookup(head), rest)
        return None


def number(value: Any) -> Optional[Decimal]:
    """A FEEL number from a Python one (bool is not a number); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    return None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if number(value) is not None:
        return "number"
    if isinstance(value, datetime):
        return "date and time"
    for kind, cls in (("date", date), ("time", time), ("duration", timedelta), ("ym", YearsMonths), ("string", str),
                      ("list", list), ("context", dict)):
        if isinstance(value, cls):
            return kind
    return "other"


def _finite(value: Decimal) -> Optional[Decimal]:
    return value if value.is_finite() else None


def _decimal_op(op: Callable[[Decimal, Decimal], Decimal], a: Decimal, b: Decimal) -> Optional[Decimal]:
    try:
        return _finite(op(a, b))
    except (ArithmeticError, InvalidOperation):
        return None


@feel
def feel_decimal(text: str) -> Decimal:
    """A decimal literal."""
    return Decimal(text)


@feel
def feel_add(a: Any, b: Any) -> Any:
    """a + b: numbers, strings, a date or time plus a duration, two durations."""
    x, y = number(a), number(b)
    if x is not None and y is not None:
        return _decimal_op(DECIMALS.add, x, y)
    if isinstance(a, str) and isinstance(b, str):
        return guards.binop("Add", a, b)
    return _temporal_add(a, b, 1)


def _temporal_add(a: Any, b: Any, sign: int) -> Any:
    try:
        if isinstance(a, YearsMonths) and isinstance(b, YearsMonths):
            return YearsMonths(a.months + sign * b.months)
        if isinstance(a, timedelta) and isinstance(b, timedelta):
            return a + sign * b
        if isinstance(a, (date, datetime)) and isinstance(b, timedelta):
            return a + sign * b
        if isinstance(a, time) and isinstance(b, timedelta):
            moment = datetime.combine(date(2000, 1, 1), a) + sign * b
            return moment.timetz() if a.tzinfo else moment.time()
        if isinstance(a, (date, datetime)) and isinstance(b, YearsMonths):
            return _add_months(a, sign * b.months)
        if sign == 1 and isinstance(b, (date, datetime, time)) and isinstance(a, (timedelta, YearsMonths)):
            return _temporal_add(b, a, 1)
    except (OverflowError, ValueError):
        return None
    return None


def _add_months(moment: date, months: int) -> date:
    total = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(total, 12)
    day = moment.day
    while True:
        try:
            return moment.replace(year=year, month=month + 1, day=day)
        except ValueError:
            day -= 1
            if day < 28:
                raise


@feel
def feel_sub(a: Any, b: Any) -> Any:
    """a - b: numbers, date/time differences, a date or time minus a duration."""
    x, y = number(a), number(b)
    if x is not None and y is not None:
        return _decimal_op(DECIMALS.subtract, x, y)
    if isinstance(a, datetime) and isinstance(b, datetime):
        return None if (a.tzinfo is None) != (b.tzinfo is None) else a - b
    if type(a) is date and type(b) is date:
        return a - b
    if isinstance(a, time) and isinstance(b, time):
        return feel_sub(datetime.combine(date(2000, 1, 1), a), datetime.combine(date(2000, 1, 1), b))
    return _temporal_add(a, b, -1)


@feel
def feel_mul(a: Any, b: Any) -> Any:
    """a * b: numbers, or a duration times a number."""
    x, y = number(a), number(b)
    if x is not None and y is not None:
        return _decimal_op(DECIMALS.multiply, x, y)
    duration, factor = (a, y) if y is not None else (b, x)
    if factor is not None and isinstance(duration, timedelta):
        return _scale(duration, factor)
    if factor is not None and isinstance(duration, YearsMonths):
        return YearsMonths(int(DECIMALS.multiply(Decimal(duration.months), factor)))
    return None


def _scale(duration: timedelta, factor: Decimal) -> Optional[timedelta]:
    try:
        micros = Decimal(duration // timedelta(microseconds=1)) * factor
        return timedelta(microseconds=int(micros))
    except (OverflowError, InvalidOperation):
        return None


@feel
def feel_div(a: Any, b: Any) -> Any:
    """a / b: numbers (division by zero is null), durations by a number or by each other."""
    x, y = number(a), number(b)
    if x is not None and y is not None:
        return None if y == 0 else _decimal_op(DECIMALS.divide, x, y)
    if isinstance(a, timedelta) and y is not None:
        return None if y == 0 else _scale(a, DECIMALS.divide(Decimal(1), y))
    if isinstance(a, timedelta) and isinstance(b, timedelta):
        return None if not b else DECIMALS.divide(Decimal(a // timedelta(microseconds=1)), Decimal(b // timedelta(microseconds=1)))
    if isinstance(a, YearsMonths) and isinstance(b, YearsMonths):
        return None if not b.months else DECIMALS.divide(Decimal(a.months), Decimal(b.months))
    return None


@feel
def feel_pow(a: Any, b: Any) -> Any:
    """a ** b for numbers; results beyond decimal128 are null."""
    x, y = number(a), number(b)
    if x is None or y is None or abs(y) > 999_999:
        return None
    return _decimal_op(DECIMALS.power, x, y)


@feel
def feel_neg(a: Any) -> Any:
    """-a for numbers and durations."""
    x = number(a)
    if x is not None:
        return -x
    if isinstance(a, timedelta):
        return -a
    if isinstance(a, YearsMonths):
        return YearsMonths(-a.months)
    return None


def eq(a: Any, b: Any) -> Optional[bool]:
    """FEEL equality: null equals only null; different kinds are null; lists and contexts compare item by item."""
    if a is None or b is None:
        return a is None and b is None
    kind = _kind(a)
    if kind != _kind(b):
        return None
    if kind == "number":
        return number(a) == number(b)
    if kind == "list":
        if len(a) != len(b):
            return False
        return conjunction([eq(x, y) for x, y in zip(a, b)] or [True])
    if kind == "context":
        if set(a) != set(b):
            return False
        return conjunction([eq(a[k], b[k]) for k in a] or [True])
    if kind == "date and time" and (a.tzinfo is None) != (b.tzinfo is None):
        return None
    return bool(a == b)


def _ordered(a: Any, b: Any) -> Optional[tuple[Any, Any]]:
    kind = _kind(a)
    if a is None or b is None or kind != _kind(b) or kind in ("boolean", "list", "context", "other"):
        return None
    if kind == "number":
        return number(a), number(b)
    if kind == "date and time" and (a.tzinfo is None) != (b.tzinfo is None):
        return None
    if kind == "time" and (a.tzinfo is None) != (b.tzinfo is None):
        return None
    return a, b


def lt(a: Any, b: Any) -> Optional[bool]:
    """a < b, null when the two cannot be ordered."""
    pair = _ordered(a, b)
    return None if pair is None else bool(pair[0] < pair[1])


def le(a: Any, b: Any) -> Optional[bool]:
    """a <= b."""
    pair = _ordered(a, b)
    return None if pair is None else bool(pair[0] <= pair[1])


def gt(a: Any, b: Any) -> Optional[bool]:
    """a > b."""
    pair = _ordered(a, b)
    return None if pair is None else bool(pair[0] > pair[1])


def ge(a: Any, b: Any) -> Optional[bool]:
    """a >= b."""
    pair = _ordered(a, b)
    return None if pair is None else bool(pair[0] >= pair[1])


def ne(a: Any, b: Any) -> Optional[bool]:
    """a != b."""
    same = eq(a, b)
    return None if same is None else not same


COMPARISONS: dict[str, Callable[[Any, Any], Optional[bool]]] = {"=": eq, "!=": ne, "<": lt, "<=": le, ">": gt, ">=": ge}
feel_eq, feel_ne, feel_lt, feel_le, feel_gt, feel_ge = (feel(f) for f in (
    lambda a, b: eq(a, b), lambda a, b: ne(a, b), lambda a, b: lt(a, b),
    lambda a, b: le(a, b), lambda a, b: gt(a, b), lambda a, b: ge(a, b),
))


def conjunction(values: list[Any]) -> Optional[bool]:
    """Three-valued `and` over values (non-booleans count as null)."""
    if any(v is False for v in values):
        return False
    return True if all(v is True for v in values) else None


def disjunction(values: list[Any]) -> Optional[bool]:
    """Three-valued `or`."""
    if any(v is True for v in values):
        return True
    return False if all(v is False for v in values) else None


@feel
def feel_and(a: Any, b: Any) -> Optional[bool]:
    """a and b, three-valued."""
    return conjunction([a, b])


@feel
def feel_or(a: Any, b: Any) -> Optional[bool]:
    """a or b, three-valued."""
    return disjunction([a, b])


@feel
def feel_not(a: Any) -> Optional[bool]:
    """not(a): null for a non-boolean."""
    return (not a) if isinstance(a, bool) else None


@feel
def feel_true(a: Any) -> bool:
    """Whether a condition holds (null and non-booleans do not)."""
    return a is True


@feel
def feel_between(value: Any, low: Any, high: Any) -> Optional[bool]:
    """value between low and high (both ends included)."""
    return conjunction([ge(value, low), le(value, high)])


@feel
def feel_test(op: str, value: Any) -> Test:
    """The unary test `op value`."""
    return Test(op, value)


@feel
def feel_range(lo: Any, lo_closed: bool, hi: Any, hi_closed: bool) -> Range:
    """The range between lo and hi."""
    return Range(lo, lo_closed, hi, hi_closed)


@feel
def feel_in(value: Any, tests: list[Any]) -> Optional[bool]:
    """value in (tests): a test, range, list (membership) or value (equality) that holds."""
    results = []
    for test in tests:
        guards.current().tick()
        if isinstance(test, (Test, Range)):
            results.append(test.holds(value))
        elif isinstance(test, list) and not isinstance(value, list):
            results.append(disjunction([eq(value, item) for item in test] or [False]))
        else:
            results.append(eq(value, test))
    return disjunction(results or [False])


@feel
def feel_list(value: Any) -> list[Any]:
    """A list to iterate: a list as it is, null as empty, anything else as a one-item list."""
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


@feel
def feel_span(first: Any, last: Any) -> list[Any]:
    """The integers from first to last, either way (`for i in 1..3`)."""
    a, b = number(first), number(last)
    if a is None or b is None or a != a.to_integral_value() or b != b.to_integral_value():
        return []
    step = 1 if b >= a else -1
    if abs(b - a) >= guards.current().limits.max_items:
        raise guards.too_large(f"列表长度（{guards.current().limits.max_items} 项）")
    return [Decimal(i) for i in range(int(a), int(b) + step, step)]


@feel
def feel_bind(scope: Scope, name: str, value: Any) -> Scope:
    """A scope with `name` bound to `value` in front of `scope`."""
    return Scope({name: value}, scope)


@feel
def feel_item(scope: Scope, item: Any) -> Scope:
    """The scope of a filter condition: `item`, and an item context's entries by name."""
    names = dict(item) if isinstance(item, dict) else {}
    names["item"] = item
    return Scope(names, scope)


@feel
def feel_entries(scope: Scope, outer: Scope, keys: list[str]) -> dict[str, Any]:
    """The context built by `{k: …, …}`: each key's bound value, the last binding winning."""
    found: dict[str, Any] = {}
    current: Optional[Scope] = scope
    while current is not None and current is not outer:
        for name, value in current.names.items():
            found.setdefault(name, value)
        current = current.parent
    return {key: found.get(key) for key in keys}


@feel
def feel_name(scope: Scope, name: str) -> Any:
    """The value of a name, null when nothing binds it."""
    return scope.lookup(name)


def path(value: Any, key: str) -> Any:
    """value.key: a context entry, each item's entry of a list, or a date, time or duration property."""
    if isinstance(value, dict):
        return value.get(key)
    if isinstance(value, list):
        return [path(item, key) for item in value]
    if isinstance(value, (date, time)):
        found = {
            "year": getattr(value, "year", None), "month": getattr(value, "month", None), "day": getattr(value, "day", None),
            "hour": getattr(value, "hour", None), "minute": getattr(value, "minute", None),
            "second": getattr(value, "second", None),
            "weekday": value.isoweekday() if isinstance(value, date) else None,
        }.get(key)
        return None if found is None else Decimal(found)
    if isinstance(value, timedelta):
        total = int(value.total_seconds())
        sign = -1 if total < 0 else 1
        days, rest = divmod(abs(total), 86400)
        parts = {"days": days, "hours": rest // 3600, "minutes": rest % 3600 // 60, "seconds": rest % 60}
        return Decimal(sign * parts[key]) if key in parts else None
    if isinstance(value, YearsMonths):
        sign = -1 if value.months < 0 else 1
        parts = {"years": abs(value.months) // 12, "months": abs(value.months) % 12}
        return Decimal(sign * parts[key]) if key in parts else None
    return None


@feel
def feel_path(value: Any, key: str) -> Any:
    """value.key."""
    return path(value, key)


@feel
def feel_index(items: Any, index: Any) -> Any:
    """items[index], 1-based, negative from the end; null outside the list."""
    listed = feel_list(items)
    position = number(index)
    if position is None or position != position.to_integral_value() or position == 0 or abs(position) > len(listed):
        return None
    return listed[int(position) - 1] if position > 0 else listed[int(position)]


@feel
def feel_some(values: list[Any]) -> Optional[bool]:
    """some … satisfies: true when one holds."""
    return disjunction(values or [False])


@feel
def feel_every(values: list[Any]) -> Optional[bool]:
    """every … satisfies: true when all hold."""
    return conjunction(values or [True])


class FeelFunction:
    """A function FEEL may invoke by name (a business knowledge model); `call` runs its compiled body in the sandbox."""

    __slots__ = ("name", "call")

    def __init__(self, name: str, call: Callable[[list[Any]], Any]) -> None:
        self.name, self.call = name, call


@feel
def feel_invoke(scope: Scope, name: str, args: list[Any]) -> Any:
    """Invoke the function bound to `name` (a business knowledge model); null when nothing callable is bound."""
    guards.current().tick()
    function = scope.lookup(name)
    return function.call(args) if isinstance(function, FeelFunction) else None


@feel
def feel_call(name: str, args: list[Any], named: dict[str, Any]) -> Any:
    """Call a built-in function of the DMN 1.3 FEEL library with positional or named arguments."""
    guards.current().in_time()
    function = LIBRARY.get(name)
    if function is None:
        return None
    if named:
        parameters = PARAMETERS.get(name, ())
        if set(named) - set(parameters):
            return None
        args = [named.get(p) for p in parameters]
        while args and args[-1] is None:
            args.pop()
    try:
        result = function(*args)
    except (TypeError, ValueError, ArithmeticError, IndexError, OverflowError, re2.error):
        return None
    if isinstance(result, (list, dict)):
        guards.measure(result, guards.current().limits)
    elif isinstance(result, str) and len(result) > guards.current().limits.max_string:
        raise guards.too_large(f"文本长度（{guards.current().limits.max_string} 字符）")
    return result


# The library. Each function returns null (raises TypeError or ValueError, turned into null) on arguments of the wrong kind.

def _num(value: Any) -> Decimal:
    found = number(value)
    if found is None:
        raise TypeError("not a number")
    return found


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _items(value: Any) -> list[Any]:
    if isinstance(value, list):
        for _ in value:
            guards.current().tick()
        return value
    raise TypeError("not a list")


def _int(value: Any) -> int:
    found = _num(value)
    if found != found.to_integral_value():
        raise ValueError("not an integer")
    return int(found)


def _numbers(args: tuple[Any, ...]) -> list[Decimal]:
    values = _items(args[0]) if len(args) == 1 and isinstance(args[0], list) else list(args)
    return [_num(v) for v in values]


def _comparable(args: tuple[Any, ...]) -> list[Any]:
    values = _items(args[0]) if len(args) == 1 and isinstance(args[0], list) else list(args)
    if not values or any(v is None for v in values):
        raise ValueError("empty or null")
    kinds = {_kind(v) for v in values}
    if len(kinds) != 1:
        raise TypeError("mixed kinds")
    return [number(v) if kinds == {"number"} else v for v in values]


def _string(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    found = number(value)
    if found is not None:
        return format(found.normalize(), "f")
    if isinstance(value, str):
        return value
    if isinstance(value, (date, time, timedelta, YearsMonths)):
        return iso_text(value)
    if isinstance(value, list):
        return "[" + ", ".join(_string(v) or "null" for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_string(v) or 'null'}" for k, v in value.items()) + "}"
    return None


def iso_text(value: date | time | timedelta | YearsMonths) -> str:
    """A date, time, date and time or duration as ISO text, as FEEL's string() writes it (a named zone as @Asia/Shanghai)."""
    if isinstance(value, timedelta):
        return duration_iso(value)
    if isinstance(value, YearsMonths):
        return value.iso()
    if isinstance(value, datetime) and isinstance(value.tzinfo, ZoneInfo):
        return f"{value.replace(tzinfo=None).isoformat()}@{value.tzinfo.key}"
    return value.isoformat()


def duration_iso(value: timedelta) -> str:
    """A days-and-time duration as ISO 8601 text (P1DT2H)."""
    micros = value // timedelta(microseconds=1)
    sign = "-" if micros < 0 else ""
    seconds, micro = divmod(abs(micros), 1_000_000)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    clock = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M")) if n)
    if seconds or micro:
        clock += f"{seconds}.{micro:06d}".rstrip("0").rstrip(".") + "S"
    text = (f"{days}D" if days else "") + (f"T{clock}" if clock else "")
    return f"{sign}P{text or 'T0S'}"


_DURATION = re.compile(r"(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")


def parse_duration(text: str) -> Any:
    """duration("P1DT2H") as a timedelta, duration("P1Y2M") as YearsMonths."""
    match = _DURATION.fullmatch(text)
    if not match or text.endswith(("P", "T")) or not any(match.groups()[1:]):
        raise ValueError(text)
    sign = -1 if match.group(1) else 1
    years, months, days, hours, minutes, seconds = match.groups()[1:]
    if (years or months) and not (days or hours or minutes or seconds):
        return YearsMonths(sign * (int(years or 0) * 12 + int(months or 0)))
    if years or months:
        raise ValueError(text)
    return sign * timedelta(days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0), seconds=float(seconds or 0))


def parse_date(text: str) -> date:
    """date("2024-01-31")."""
    if not re.fullmatch(r"-?\d{4,9}-\d\d-\d\d", text):
        raise ValueError(text)
    return date.fromisoformat(text)


def parse_time(text: str) -> time:
    """time("13:30:00"), with an optional offset or Z."""
    if not re.fullmatch(r"\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?", text):
        raise ValueError(text)
    return time.fromisoformat(text.replace("Z", "+00:00"))


_ZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*")


def parse_datetime(text: str) -> datetime:
    """date and time("2024-01-31T13:30:00"), with an offset, Z or a named zone (@Asia/Shanghai); a date alone meaning its midnight."""
    if "T" not in text:
        found = parse_date(text)
        return datetime(found.year, found.month, found.day)
    day, _, clock = text.partition("T")
    clock, at, zone = clock.partition("@")
    moment = datetime.combine(parse_date(day), parse_time(clock))
    if not at:
        return moment
    if moment.tzinfo is not None or not _ZONE.fullmatch(zone):
        raise ValueError(text)
    try:
        return moment.replace(tzinfo=ZoneInfo(zone))
    except (KeyError, OSError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(text) from exc


def parse_temporal(text: str) -> Any:
    """@"…": a date and time, date, time or duration, whichever the text writes."""
    for parser in (parse_datetime if "T" in text else parse_date, parse_time, parse_duration):
        try:
            return parser(text)
        except ValueError:
            continue
    raise ValueError(text)


CELL_INPUT_READERS: dict[str, Callable[[str], Any]] = {
    "date": parse_date, "date and time": parse_datetime, "time": parse_time, "duration": parse_duration,
}


@feel
def feel_cell_input(function: str, value: Any) -> Any:
    """A decision-table input tested against a `function("…")` cell, ISO text read as that function reads it.

    Process data keeps dates and years-and-months durations as text. Other values, and text the function
    cannot read, stay as they are, so FEEL's comparison of different kinds makes the test null.
    """
    reader = CELL_INPUT_READERS.get(function)
    if reader is None or not isinstance(value, str):
        return value
    try:
        return reader(value)
    except ValueError:
        return value


def _date(*args: Any) -> date:
    if len(args) == 3:
        return date(_int(args[0]), _int(args[1]), _int(args[2]))
    (value,) = args
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return parse_date(_str(value))


def _time(*args: Any) -> time:
    if len(args) >= 3:
        seconds = _num(args[2])
        whole = int(seconds)
        offset = args[3] if len(args) > 3 else None
        zone = timezone(offset) if isinstance(offset, timedelta) else None
        return time(_int(args[0]), _int(args[1]), whole, int((seconds - whole) * 1_000_000), tzinfo=zone)
    (value,) = args
    if isinstance(value, datetime):
        return value.timetz()
    if isinstance(value, date):
        return time(0, 0, 0, tzinfo=timezone.utc)
    return parse_time(_str(value))


def _date_and_time(*args: Any) -> datetime:
    if len(args) == 2:
        day, clock = args
        if not isinstance(day, date) or not isinstance(clock, time):
            raise TypeError("date and time(date, time)")
        return datetime.combine(day if not isinstance(day, datetime) else day.date(), clock)
    (value,) = args
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    found: datetime = parse_datetime(_str(value))
    return found


def _number_from(text: Any, grouping: Any = None, separator: Any = None) -> Decimal:
    value = _str(text)
    if grouping is not None:
        value = value.replace(_str(grouping), "")
    if separator is not None:
        value = value.replace(_str(separator), ".")
    if not re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?", value):
        raise ValueError(value)
    return Decimal(value)


def _substring(text: Any, start: Any, length: Any = None) -> str:
    chars = list(_str(text))
    begin = _int(start)
    begin = begin - 1 if begin > 0 else len(chars) + begin
    if begin < 0 or begin > len(chars):
        raise ValueError("start outside the string")
    end = len(chars) if length is None else begin + _int(length)
    return "".join(chars[begin:end])


def _regex(pattern: Any, flags: Any = None) -> Any:
    options = re2.Options()
    text_flags = _str(flags) if flags is not None else ""
    options.case_sensitive = "i" not in text_flags
    options.dot_nl = "s" in text_flags
    options.never_nl = False
    return re2.compile(_str(pattern), options)


def _replace(text: Any, pattern: Any, replacement: Any, flags: Any = None) -> str:
    target = re.sub(r"\$(\d)", r"\\\1", _str(replacement))
    return str(_regex(pattern, flags).sub(target, _str(text)))


def _split(text: Any, delimiter: Any) -> list[str]:
    return list(_regex(delimiter).split(_str(text)))


def _join(items: Any, delimiter: Any = None, prefix: Any = None, suffix: Any = None) -> str:
    parts = [_str(v) for v in _items(items) if v is not None]
    return (_str(prefix) if prefix is not None else "") + (_str(delimiter) if delimiter is not None else "").join(parts) + (
        _str(suffix) if suffix is not None else "")


def _decimal_scale(value: Any, scale: Any) -> Decimal:
    return _num(value).quantize(Decimal(1).scaleb(-_int(scale)), rounding=ROUND_HALF_EVEN, context=DECIMALS)


def _round(mode: str) -> Callable[..., Decimal]:
    def rounded(value: Any, scale: Any = 0) -> Decimal:
        return _num(value).quantize(Decimal(1).scaleb(-_int(scale)), rounding=mode, context=DECIMALS)
    return rounded


def _modulo(dividend: Any, divisor: Any) -> Decimal:
    a, b = _num(dividend), _num(divisor)
    if b == 0:
        raise ZeroDivisionError("modulo by zero")
    return DECIMALS.subtract(a, DECIMALS.multiply(b, (a / b).to_integral_value(rounding=ROUND_FLOOR)))


def _sqrt(value: Any) -> Decimal:
    found = _num(value)
    if found < 0:
        raise ValueError("negative")
    return DECIMALS.sqrt(found)


def _mean(*args: Any) -> Decimal:
    values = _numbers(args)
    return DECIMALS.divide(sum(values, Decimal(0)), Decimal(len(values)))


def _median(*args: Any) -> Decimal:
    values = sorted(_numbers(args))
    if not values:
        raise ValueError("empty")
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else DECIMALS.divide(values[middle - 1] + values[middle], Decimal(2))


def _stddev(*args: Any) -> Decimal:
    values = _numbers(args)
    if len(values) < 2:
        raise ValueError("fewer than two")
    mean = _mean(values)
    return DECIMALS.sqrt(DECIMALS.divide(sum(((v - mean) ** 2 for v in values), Decimal(0)), Decimal(len(values) - 1)))


def _mode(*args: Any) -> list[Decimal]:
    values = _numbers(args)
    counts: dict[Decimal, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    top = max(counts.values(), default=0)
    return sorted(v for v, n in counts.items() if n == top)


def _sublist(items: Any, start: Any, length: Any = None) -> list[Any]:
    listed = _items(items)
    begin = _int(start)
    begin = begin - 1 if begin > 0 else len(listed) + begin
    if begin < 0 or begin >= len(listed):
        raise ValueError("start outside the list")
    return listed[begin:] if length is None else listed[begin:begin + _int(length)]


def _insert_before(items: Any, position: Any, item: Any) -> list[Any]:
    listed = list(_items(items))
    index = _int(position)
    index = index - 1 if index > 0 else len(listed) + index
    if index < 0 or index > len(listed):
        raise ValueError("position outside the list")
    listed.insert(index, item)
    return listed


def _remove(items: Any, position: Any) -> list[Any]:
    listed = list(_items(items))
    index = _int(position)
    index = index - 1 if index > 0 else len(listed) + index
    if index < 0 or index >= len(listed):
        raise ValueError("position outside the list")
    del listed[index]
    return listed


def _distinct(items: Any) -> list[Any]:
    found: list[Any] = []
    for item in _items(items):
        if not any(eq(item, seen) is True for seen in found):
            found.append(item)
    return found


def _flatten(items: Any) -> list[Any]:
    flat: list[Any] = []
    for item in _items(items):
        flat += _flatten(item) if isinstance(item, list) else [item]
    return flat


def _index_of(items: Any, match: Any) -> list[Decimal]:
    return [Decimal(i) for i, item in enumerate(_items(items), start=1) if eq(item, match) is True]


def _sum(*args: Any) -> Optional[Decimal]:
    values = _numbers(args)
    return sum(values, Decimal(0)) if values else None


def _product(*args: Any) -> Optional[Decimal]:
    values = _numbers(args)
    if not values:
        return None
    result = Decimal(1)
    for value in values:
        result = DECIMALS.multiply(result, value)
    return result


def _all(*args: Any) -> Optional[bool]:
    values = _items(args[0]) if len(args) == 1 and isinstance(args[0], list) else list(args)
    if any(v is not None and not isinstance(v, bool) for v in values):
        raise TypeError("not booleans")
    return conjunction(values or [True])


def _any(*args: Any) -> Optional[bool]:
    values = _items(args[0]) if len(args) == 1 and isinstance(args[0], list) else list(args)
    if any(v is not None and not isinstance(v, bool) for v in values):
        raise TypeError("not booleans")
    return disjunction(values or [False])


def _sort(items: Any) -> list[Any]:
    values = _comparable((list(_items(items)),)) if items else []
    return sorted(values)


def _years_and_months(start: Any, end: Any) -> YearsMonths:
    if not isinstance(start, date) or not isinstance(end, date):
        raise TypeError("dates")
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 0 and end.day < start.day:
        months -= 1
    elif months < 0 and end.day > start.day:
        months += 1
    return YearsMonths(months)


def _day_of_week(value: Any) -> str:
    if not isinstance(value, date):
        raise TypeError("date")
    return ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"][value.weekday()]


def _month_of_year(value: Any) -> str:
    if not isinstance(value, date):
        raise TypeError("date")
    return ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
            "November", "December"][value.month - 1]


def _is(a: Any, b: Any) -> bool:
    return _kind(a) == _kind(b) and eq(a, b) is True


def _count(items: Any) -> Decimal:
    return Decimal(len(_items(items)))


def _minimum(*args: Any) -> Any:
    return min(_comparable(args))


def _maximum(*args: Any) -> Any:
    return max(_comparable(args))


def _duration(value: Any) -> Any:
    return parse_duration(_str(value))


def _string_length(value: Any) -> Decimal:
    return Decimal(len(_str(value)))


def _upper(value: Any) -> str:
    return _str(value).upper()


def _lower(value: Any) -> str:
    return _str(value).lower()


def _before(text: Any, match: Any) -> str:
    found = _str(text).find(_str(match))
    return "" if found < 0 else _str(text)[:found]


def _after(text: Any, match: Any) -> str:
    found = _str(text).find(_str(match))
    return "" if found < 0 else _str(text)[found + len(_str(match)):]


def _contains(text: Any, match: Any) -> bool:
    return _str(match) in _str(text)


def _starts(text: Any, match: Any) -> bool:
    return _str(text).startswith(_str(match))


def _ends(text: Any, match: Any) -> bool:
    return _str(text).endswith(_str(match))


def _matches(text: Any, pattern: Any, flags: Any = None) -> bool:
    return _regex(pattern, flags).search(_str(text)) is not None


def _list_contains(items: Any, item: Any) -> bool:
    return any(eq(v, item) is True for v in _items(items))


def _append(items: Any, *more: Any) -> list[Any]:
    return [*_items(items), *more]


def _concatenate(*lists: Any) -> list[Any]:
    return [item for items in lists for item in _items(items)]


def _reverse(items: Any) -> list[Any]:
    return list(reversed(_items(items)))


def _union(*lists: Any) -> list[Any]:
    return _distinct(_concatenate(*lists))


def _abs(value: Any) -> Any:
    if isinstance(value, timedelta):
        return abs(value)
    return abs(_num(value))


def _odd(value: Any) -> bool:
    return _int(value) % 2 == 1


def _even(value: Any) -> bool:
    return _int(value) % 2 == 0


def _log(value: Any) -> Decimal:
    found = _num(value)
    if found <= 0:
        raise ValueError("not positive")
    return DECIMALS.ln(found)


def _exp(value: Any) -> Decimal:
    return DECIMALS.exp(_num(value))


def _day_of_year(value: Any) -> Decimal:
    if not isinstance(value, date):
        raise TypeError("date")
    return Decimal(value.timetuple().tm_yday)


def _week_of_year(value: Any) -> Decimal:
    if not isinstance(value, date):
        raise TypeError("date")
    return Decimal(value.isocalendar()[1])


def _is_defined(value: Any) -> bool:
    return value is not None


LIBRARY: dict[str, Function] = {
    "@": parse_temporal,
    "date": _date, "time": _time, "date and time": _date_and_time, "duration": _duration,
    "years and months duration": _years_and_months, "number": _number_from, "string": _string,
    "substring": _substring, "string length": _string_length, "upper case": _upper, "lower case": _lower,
    "substring before": _before, "substring after": _after, "replace": _replace, "contains": _contains,
    "starts with": _starts, "ends with": _ends, "matches": _matches, "split": _split, "string join": _join,
    "list contains": _list_contains, "count": _count, "min": _minimum, "max": _maximum, "sum": _sum, "mean": _mean,
    "all": _all, "any": _any, "and": _all, "or": _any, "sublist": _sublist, "append": _append,
    "concatenate": _concatenate, "insert before": _insert_before, "remove": _remove, "reverse": _reverse,
    "index of": _index_of, "union": _union, "distinct values": _distinct, "flatten": _flatten, "product": _product,
    "median": _median, "stddev": _stddev, "mode": _mode, "sort": _sort,
    "decimal": _decimal_scale, "floor": _round(ROUND_FLOOR), "ceiling": _round(ROUND_CEILING), "abs": _abs,
    "modulo": _modulo, "sqrt": _sqrt, "log": _log, "exp": _exp, "odd": _odd, "even": _even,
    "round half even": _round(ROUND_HALF_EVEN),
    "day of year": _day_of_year, "day of week": _day_of_week, "month of year": _month_of_year,
    "week of year": _week_of_year, "is": _is, "is defined": _is_defined,
}
PARAMETERS: dict[str, tuple[str, ...]] = {
    "substring": ("string", "start position", "length"), "string length": ("string",), "upper case": ("string",),
    "lower case": ("string",), "substring before": ("string", "match"), "substring after": ("string", "match"),
    "replace": ("input", "pattern", "replacement", "flags"), "contains": ("string", "match"),
    "starts with": ("string", "match"), "ends with": ("string", "match"), "matches": ("input", "pattern", "flags"),
    "split": ("string", "delimiter"), "string join": ("list", "delimiter", "prefix", "suffix"),
    "decimal": ("n", "scale"), "floor": ("n", "scale"), "ceiling": ("n", "scale"), "abs": ("n",),
    "modulo": ("dividend", "divisor"), "sqrt": ("number",), "log": ("number",), "exp": ("number",),
    "odd": ("number",), "even": ("number",), "date": ("from",), "time": ("from",), "date and time": ("date", "time"),
    "duration": ("from",), "years and months duration": ("from", "to"), "number": ("from", "grouping separator", "decimal separator"),
    "string": ("from",), "list contains": ("list", "element"), "sublist": ("list", "start position", "length"),
    "insert before": ("list", "position", "newItem"), "remove": ("list", "position"), "index of": ("list", "match"),
}
BUILTIN_NAMES = frozenset(LIBRARY) - {"@"} | {"not"}
FEEL_FUNCTIONS: dict[str, Function] = {
    name: value for name, value in globals().items() if name.startswith("feel_") and callable(value) and name != "feel"
}
