"""The leader dashboard's figures (驾驶舱): counts and sums computed by the database, never by loading every project.

Stages, money and the 7亿+ count are one GROUP BY over an index of the project table; the lights
by unit are counted by the database from the task table and the progress dates; the monthly trend
is one count per month of the projects that signed, landed or started, each a range of its date index.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from engine.platform.clock import day_starts
from engine.platform.models import Project
from engine.supervision import lights

TREND_EVENTS = (("signed", "签约"), ("landed", "落地"), ("started", "开工"))
TREND_COLUMNS: dict[str, Any] = {"signed": Project.signed_date, "landed": Project.landed_at, "started": Project.start_date}


@dataclass
class Figures:
    """Every number of the dashboard for one viewer and year."""

    by_stage: dict[str, int]
    money_by_stage: dict[str, Decimal]
    mfg_7yi: int
    lights_by_unit: dict[int, Counter[str]]
    trend: dict[str, list[int]] = field(default_factory=dict)  # event label → projects in each of the 12 months

    @property
    def projects(self) -> int:
        """Projects not closed."""
        return sum(self.by_stage.values())

    @property
    def investment(self) -> Decimal:
        """Total investment of the projects not closed, in 万元."""
        return sum(self.money_by_stage.values(), Decimal(0))

    @property
    def red(self) -> int:
        """Projects whose light is red."""
        return sum(counts["red"] for counts in self.lights_by_unit.values())


def _visible(unit_id: Optional[int]) -> tuple[ColumnElement[bool], ...]:
    """The projects a unit attracted or lands, or every project for a county viewer."""
    if unit_id is None:
        return ()
    return (Project.of_units([unit_id]),)


def figures(session: Session, year: int, now: datetime, unit_id: Optional[int] = None) -> Figures:
    """The dashboard's numbers as `unit_id` (None: the whole county) may see them."""
    open_projects = (Project.status != "closed", *_visible(unit_id))
    by_stage: dict[str, int] = {}
    money: dict[str, Decimal] = {}
    mfg = 0
    for stage, count, total, big_manufacturing in session.execute(
        select(Project.stage, func.count(), func.coalesce(func.sum(Project.total_investment), 0),
               func.count(case((Project.is_7yi_manufacturing, 1))))
        .where(*open_projects).group_by(Project.stage)
    ):
        by_stage[stage], money[stage] = int(count), Decimal(total)
        mfg += int(big_manufacturing)
    by_unit = lights.counts_by_unit(session, now, {unit_id} if unit_id is not None else None)
    return Figures(by_stage, money, int(mfg), by_unit, _trend(session, year, unit_id))


def window(event: str, first: date, after: date) -> ColumnElement[bool]:
    """The projects that reached `event` (signed, landed, started) on `first` or later and before `after`, in the county's calendar."""
    column: ColumnElement[Any] = TREND_COLUMNS[event]
    if event == "landed":  # a moment: from the instant the first day begins in the county to the instant the day after begins
        return (column >= day_starts(first)) & (column < day_starts(after))
    return (column >= first) & (column < after)


def month_window(event: str, year: int, month: int) -> ColumnElement[bool]:
    """The projects that reached `event` in that month."""
    return window(event, date(year, month, 1), date(year + month // 12, month % 12 + 1, 1))


def _trend(session: Session, year: int, unit_id: Optional[int]) -> dict[str, list[int]]:
    """Per event, how many projects reached it in each month of the year: 36 counts of index ranges, in one statement."""
    counts = [
        select(func.count()).select_from(Project).where(month_window(event, year, month), *_visible(unit_id)).scalar_subquery()
        for event, _label in TREND_EVENTS for month in range(1, 13)
    ]
    found = [int(n) for n in session.execute(select(*counts)).one()]
    return {label: found[12 * index:12 * index + 12] for index, (_event, label) in enumerate(TREND_EVENTS)}
