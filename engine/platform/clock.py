"""County time: the one place a stored UTC time becomes the county's clock and calendar (deadlines, months, yearly plans).

The zone is the setting ZHIKONG_TIMEZONE (default Asia/Shanghai), read once per process on first use.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Optional, overload
from zoneinfo import ZoneInfo

from engine.platform.config import Settings
from engine.platform.models import CLOCK_BEHIND, utcnow

CENT = Decimal("0.01")  # amounts in 万元 and areas in 亩 are kept and shown to the cent


class _Zone:
    """The county's zone, once the settings have been read."""

    current: Optional[ZoneInfo] = None


def zone() -> ZoneInfo:
    """The county's time zone (the setting ZHIKONG_TIMEZONE, default Asia/Shanghai)."""
    if _Zone.current is None:
        _Zone.current = ZoneInfo(Settings.load().timezone)
    return _Zone.current


def use_zone(name: str) -> None:
    """Count in the zone `name` from now on (the app factory passes its settings' zone; tests try another)."""
    _Zone.current = ZoneInfo(name)


def local_time(value: datetime) -> datetime:
    """A stored timestamp on the county's clock (SQLite hands back naive UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(zone())


@contextmanager
def as_of(moment: datetime) -> Iterator[None]:
    """Run the engine as if it were `moment` (aware): every timestamp, due time and "today" it writes is read off that
    moment, moving on with the wall clock. The demo county records its past this way; readers of the wall clock
    (the web pages' lights) are untouched."""
    token = CLOCK_BEHIND.set(datetime.now(timezone.utc) - moment)
    try:
        yield
    finally:
        CLOCK_BEHIND.reset(token)


def day_starts(day: date) -> datetime:
    """The UTC instant at which a county calendar day begins (stored timestamps compare with it; SQLite's are naive UTC text)."""
    return datetime.combine(day, time.min, tzinfo=zone()).astimezone(timezone.utc)


def local_today(now: Optional[datetime] = None) -> date:
    """The county's calendar date at `now` (default: this moment)."""
    return (now or utcnow()).astimezone(zone()).date()


@overload
def local_date(value: datetime) -> date: ...


@overload
def local_date(value: None) -> None: ...


def local_date(value: Optional[datetime]) -> Optional[date]:
    """A stored timestamp as a county calendar date (SQLite hands back naive UTC)."""
    return None if value is None else local_time(value).date()


def monthly_plan(target: Decimal, month: int, count: bool) -> Decimal:
    """倒排: the cumulative amount due by the end of `month` when the year's target is spread back from December.

    A count target of N puts its k-th project at month ceil(12k/N), so the plan by month m is floor(N·m/12), a
    whole number; an amount is planned evenly, N·m/12, to the cent.
    """
    if count:
        return Decimal(int(target) * month // 12)
    return (target * month / 12).quantize(CENT, rounding=ROUND_HALF_UP)
