"""County time: the calendar every deadline, month and yearly plan is counted in (stored times stay UTC)."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Optional, overload
from zoneinfo import ZoneInfo

from engine.platform.config import Settings
from engine.platform.models import utcnow

LOCAL = ZoneInfo(Settings.timezone)
CENT = Decimal("0.01")  # amounts in 万元 and areas in 亩 are kept and shown to the cent


def day_starts(day: date) -> datetime:
    """The UTC instant at which a county calendar day begins (stored timestamps compare with it; SQLite's are naive UTC text)."""
    return datetime.combine(day, time.min, tzinfo=LOCAL).astimezone(timezone.utc)


def local_today(now: Optional[datetime] = None) -> date:
    """The county's calendar date at `now` (default: this moment)."""
    return (now or utcnow()).astimezone(LOCAL).date()


@overload
def local_date(value: datetime) -> date: ...


@overload
def local_date(value: None) -> None: ...


def local_date(value: Optional[datetime]) -> Optional[date]:
    """A stored timestamp as a county calendar date (SQLite hands back naive UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(LOCAL).date()


def monthly_plan(target: Decimal, month: int, count: bool) -> Decimal:
    """倒排: the cumulative amount due by the end of `month` when the year's target is spread back from December.

    A count target of N puts its k-th project at month ceil(12k/N), so the plan by month m is floor(N·m/12), a
    whole number; an amount is planned evenly, N·m/12, to the cent.
    """
    if count:
        return Decimal(int(target) * month // 12)
    return (target * month / 12).quantize(CENT, rounding=ROUND_HALF_UP)
