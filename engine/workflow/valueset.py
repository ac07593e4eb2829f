"""Sets of input values a DMN cell matches: unions of intervals plus null, with set algebra.

A FEEL unary test is a set of values over its column's domain. Deciding whether two UNIQUE
rules overlap, or whether a cell can never match, is then an intersection or an emptiness
test, computed exactly here rather than by sampling. Values are ordered within their kind
only: bounds Python cannot compare (a number and a string, a date and a date and time, a
zoned and a local date and time, a days-and-time and a years-and-months duration) are values
FEEL's comparison makes null, so nothing lies between them and no value of one kind lies in
an interval of another. Dates are whole days, years-and-months durations whole months, and
dates and times, times and days-and-time durations whole microseconds, as the engine holds them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Iterable, Optional

from engine.workflow.sandbox.feel_lib import YearsMonths

Bound = Any  # a Decimal, str, bool, date, datetime, time, timedelta or YearsMonths; None means unbounded


@dataclass(frozen=True)
class Interval:
    """Values between `lo` and `hi`; a None bound is unbounded; `*_closed` includes the bound."""

    lo: Bound = None
    lo_closed: bool = False
    hi: Bound = None
    hi_closed: bool = False

    @staticmethod
    def point(value: Bound) -> "Interval":
        """The single value `value`."""
        return Interval(value, True, value, True)

    def is_empty(self) -> bool:
        """True when no value lies between the bounds (none does between bounds of different kinds)."""
        if self.lo is None or self.hi is None:
            return False
        try:
            if self.lo > self.hi:
                return True
        except TypeError:
            return True
        return self.lo == self.hi and not (self.lo_closed and self.hi_closed)

    def contains(self, value: Bound) -> bool:
        """True when `value` lies within the bounds (never when it is of another kind than a bound)."""
        try:
            if self.lo is not None and (value < self.lo or (value == self.lo and not self.lo_closed)):
                return False
            if self.hi is not None and (value > self.hi or (value == self.hi and not self.hi_closed)):
                return False
        except TypeError:
            return False
        return True

    def intersect(self, other: "Interval") -> "Interval":
        """The values in both intervals (an empty interval when their kinds differ)."""
        try:
            lo, lo_closed = _tighter_low(self.lo, self.lo_closed, other.lo, other.lo_closed)
            hi, hi_closed = _tighter_high(self.hi, self.hi_closed, other.hi, other.hi_closed)
        except TypeError:
            bound = self.lo if self.lo is not None else self.hi
            return Interval(bound, False, bound, False)
        return Interval(lo, lo_closed, hi, hi_closed)


def _tighter_low(a: Bound, a_closed: bool, b: Bound, b_closed: bool) -> tuple[Bound, bool]:
    if a is None:
        return b, b_closed
    if b is None or a > b:
        return a, a_closed
    if b > a:
        return b, b_closed
    return a, a_closed and b_closed


def _tighter_high(a: Bound, a_closed: bool, b: Bound, b_closed: bool) -> tuple[Bound, bool]:
    if a is None:
        return b, b_closed
    if b is None or a < b:
        return a, a_closed
    if b < a:
        return b, b_closed
    return a, a_closed and b_closed


@dataclass(frozen=True)
class ValueSet:
    """A union of intervals over one ordered domain, and whether null (a missing value) is in it."""

    intervals: tuple[Interval, ...] = ()
    null: bool = False

    @staticmethod
    def anything() -> "ValueSet":
        """`-`: every value, null included."""
        return ValueSet((Interval(),), True)

    @staticmethod
    def of(intervals: Iterable[Interval], null: bool = False) -> "ValueSet":
        """A set from intervals, dropping empty ones."""
        return ValueSet(tuple(i for i in intervals if not i.is_empty()), null)

    def union(self, other: "ValueSet") -> "ValueSet":
        """Values in either set."""
        return ValueSet.of(self.intervals + other.intervals, self.null or other.null)

    def intersect(self, other: "ValueSet") -> "ValueSet":
        """Values in both sets."""
        parts = [a.intersect(b) for a in self.intervals for b in other.intervals]
        return ValueSet.of(parts, self.null and other.null)

    def complement(self) -> "ValueSet":
        """FEEL not(...): every non-null value outside the set (not(x) of null is null, no match)."""
        result = ValueSet((Interval(),))
        for part in self.intervals:
            pieces = []
            if part.lo is not None:
                pieces.append(Interval(None, False, part.lo, not part.lo_closed))
            if part.hi is not None:
                pieces.append(Interval(part.hi, not part.hi_closed, None, False))
            result = result.intersect(ValueSet.of(pieces))
        return ValueSet(result.intervals, False)

    def contains(self, value: Any) -> bool:
        """True when the set holds `value` (None is null)."""
        if value is None:
            return self.null
        return any(part.contains(value) for part in self.intervals)


class Domain:
    """What values a column can take: numbers, integers, strings, booleans, dates, times or durations, maybe an enum."""

    def __init__(self, kind: str, allowed: Optional[tuple[Any, ...]] = None) -> None:
        self.kind = kind
        self.allowed = allowed

    def sample(self, values: ValueSet) -> tuple[bool, Any]:
        """(found, value): a value of this domain inside `values`, preferring non-null values."""
        if self.allowed is not None:
            for candidate in self.allowed:
                if values.contains(candidate):
                    return True, candidate
        else:
            for part in values.intervals:
                found, value = self._inside(part)
                if found:
                    return True, value
        return (True, None) if values.null else (False, None)

    def is_empty(self, values: ValueSet) -> bool:
        """True when no value of this domain (null included) lies in `values`."""
        return not self.sample(values)[0]

    def _inside(self, part: Interval) -> tuple[bool, Any]:
        bound = part.lo if part.lo is not None else part.hi
        if self.kind == "boolean":
            candidates: list[Any] = [False, True]
        elif self.kind in ("number", "integer") or isinstance(bound, Decimal):
            candidates = _number_candidates(part, integer=self.kind == "integer")
        elif isinstance(bound, TEMPORAL) or (bound is None and self.kind in ORIGINS):
            candidates = _temporal_candidates(part, ORIGINS.get(self.kind))
        else:
            candidates = _string_candidates(part)
        for candidate in candidates:
            if part.contains(candidate):
                return True, candidate
        return False, None


def _number_candidates(part: Interval, integer: bool) -> list[Decimal]:
    lo, hi = part.lo, part.hi
    if integer:
        start = Decimal(0) if lo is None else lo.to_integral_value(rounding="ROUND_FLOOR")
        if lo is None and hi is not None:
            start = hi.to_integral_value(rounding="ROUND_CEILING") - 1
        return [start + step for step in (-1, 0, 1, 2)]
    candidates = [v for v in (lo, hi) if v is not None]
    if lo is not None and hi is not None:
        candidates.append((lo + hi) / 2)
    elif lo is not None:
        candidates.append(lo + 1)
    elif hi is not None:
        candidates.append(hi - 1)
    else:
        candidates.append(Decimal(0))
    return candidates


TEMPORAL = (date, time, timedelta, YearsMonths)
ORIGINS: dict[str, Any] = {
    "date": date(2024, 1, 1), "date and time": datetime(2024, 1, 1), "time": time(0, 0),
    "days and time duration": timedelta(0), "years and months duration": YearsMonths(0),
}
DAY, SECOND, MICROSECOND = timedelta(days=1), timedelta(seconds=1), timedelta(microseconds=1)


def _temporal_candidates(part: Interval, origin: Any) -> list[Any]:
    """The bounds, then the values a day, a second, a microsecond (a month) inside them: the first that fits is taken."""
    candidates = [v for v in (part.lo, part.hi) if v is not None] or [origin]
    for step in (DAY, SECOND, MICROSECOND):
        candidates += [_moved(part.lo, step), _moved(part.hi, -step)]
    return [c for c in candidates if c is not None]


def _moved(value: Any, step: timedelta) -> Any:
    """`value` moved by `step` (a month for a years-and-months duration, a day at least for a date); None past its range."""
    try:
        if isinstance(value, YearsMonths):
            return YearsMonths(value.months + (1 if step > timedelta(0) else -1))
        if isinstance(value, datetime) or isinstance(value, timedelta):
            return value + step
        if isinstance(value, date):
            return value + (DAY if step > timedelta(0) else -DAY)
        if isinstance(value, time):
            moment = datetime.combine(date(2000, 1, 2), value) + step
            return moment.timetz() if moment.day == 2 else None
    except OverflowError:
        return None
    return None


def _string_candidates(part: Interval) -> list[Any]:
    candidates = [v for v in (part.lo, part.hi) if v is not None]
    candidates.append("其他值")
    if isinstance(part.lo, str):
        candidates += [part.lo + "1", part.lo + "\u0001"]
    if isinstance(part.hi, str) and part.hi:
        candidates.append(part.hi[:-1])
    return candidates
