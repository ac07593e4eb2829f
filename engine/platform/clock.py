"""County time: the calendar every deadline, month and quarter is counted in (stored times stay UTC)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Optional
from zoneinfo import ZoneInfo

from engine.platform.config import Settings
from engine.platform.models import utcnow

LOCAL = ZoneInfo(Settings.timezone)


def local_today(now: Optional[datetime] = None) -> date:
    """The county's calendar date at `now` (default: this moment)."""
    return (now or utcnow()).astimezone(LOCAL).date()


def local_date(value: Optional[datetime]) -> Optional[date]:
    """A stored timestamp as a county calendar date (SQLite hands back naive UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(LOCAL).date()
