"""The demo county's calendar and its replay: dated steps run in order under the engine's clock set back to their moment.

The scheduler's sweeps run every replayed Monday morning, so every date, due time, light and
record the demo leaves is the engine's own.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Optional

from sqlalchemy.orm import Session

from engine.platform.clock import as_of, local_date, local_today, zone
from engine.platform.models import utcnow
from engine.supervision import assessment, coordination, lights, monthly, notices, progress

Action = Callable[[Session], Any]
"""What a replayed official or job does, given the session."""
SWEEPS: tuple[Callable[[Session, datetime], Any], ...] = (
    lights.scan, progress.scan, coordination.sweep_overdue, monthly.run, notices.generate_due,
)
"""The scheduler's jobs that read the clock and the records (deadline and progress warnings, overdue 交办 items, monthly
reminders and notices), run at each replayed Monday as the scheduler would have run them."""
SWEEP_HOUR = 8


@dataclass(frozen=True)
class Calendar:
    """Today in the county, and the last closed quarter (the one the demo finalises): what every demo date is counted from."""

    now: datetime
    today: date
    year: int
    quarter: int
    first: date

    @classmethod
    def at(cls, now: datetime) -> Calendar:
        """The calendar of the moment `now` (aware)."""
        today = local_today(now)
        current = (today.month - 1) // 3 + 1
        year, quarter = (today.year - 1, 4) if current == 1 else (today.year, current - 1)
        return cls(now, today, year, quarter, assessment.quarter_range(year, quarter)[0])

    @property
    def label(self) -> str:
        """The closed quarter in words: 2026年第3季度."""
        return f"{self.year}年第{self.quarter}季度"

    @property
    def last(self) -> date:
        """The closed quarter's last day."""
        return assessment.quarter_range(self.year, self.quarter)[1]

    def day(self, day: date, hour: int = 10) -> datetime:
        """A county day at an hour, as an aware UTC moment."""
        return datetime.combine(day, time(hour), tzinfo=zone()).astimezone(timezone.utc)

    def ago(self, days: int, hour: int = 10) -> datetime:
        """`days` county days before today, at `hour`."""
        return self.day(self.today - timedelta(days=days), hour)

    def quarter_day(self, days: int, hour: int = 10) -> datetime:
        """`days` days after the closed quarter's first day (before it when negative), at `hour`."""
        return self.day(self.first + timedelta(days=days), hour)

    def quarter_date(self, days: int) -> date:
        """The county date `days` days after the closed quarter's first day."""
        return self.first + timedelta(days=days)

    def date_ago(self, days: int) -> date:
        """The county date `days` days before today (after it when negative)."""
        return self.today - timedelta(days=days)


@dataclass
class Replay:
    """Steps, each at its moment; `run` plays them in order of time (in order of adding at the same moment)."""

    calendar: Calendar
    steps: list[tuple[datetime, int, Action]] = field(default_factory=list)
    begins: Optional[datetime] = None  # the county's first registration: the Monday sweeps run from then (its first step if unset)

    def add(self, moment: datetime, step: Action) -> datetime:
        """Play `step` at `moment` (no later than now); returns the moment it will run at."""
        moment = min(moment, self.calendar.now - timedelta(minutes=1))
        self.steps.append((moment, len(self.steps), step))
        return moment

    def chain(self, timed: Sequence[tuple[datetime, Action]]) -> None:
        """Steps that must run in the order given: each runs at its moment, or an hour after the one before when that is later."""
        previous = None
        for moment, step in timed:
            if previous is not None:
                moment = max(moment, previous + timedelta(hours=1))
            previous = self.add(moment, step)

    def _mondays(self, first: datetime) -> Iterator[datetime]:
        """Every Monday at the sweep hour from `first` until now."""
        day = local_date(first)
        day += timedelta(days=(7 - day.weekday()) % 7)
        while (moment := self.calendar.day(day, SWEEP_HOUR)) < self.calendar.now:
            yield moment
            day += timedelta(days=7)

    def run(self, session: Session) -> None:
        """Play every step and the Monday sweeps in order of time."""
        if not self.steps:
            return
        sweeps: list[tuple[datetime, int, Action]] = [(moment, -1, sweep) for moment in self._mondays(self.begins or min(self.steps)[0])]
        for moment, _order, step in sorted(self.steps + sweeps, key=lambda item: (item[0], item[1])):
            with as_of(moment):
                step(session)


def sweep(session: Session) -> None:
    """Run the scheduler's clock-reading jobs once at the engine's current moment."""
    now = utcnow()
    for job in SWEEPS:
        job(session, now)
