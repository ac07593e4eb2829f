"""The leader dashboard's figures (驾驶舱): counts and sums computed by the database, never by loading every project.

Stages, money and the 7亿+ count are GROUP BY aggregates over the project table; the lights
by unit are counted by the database from the task table and the progress dates; the monthly trend
reads only the projects that signed, landed or started in the year.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from engine.platform.clock import LOCAL, local_date
from engine.platform.models import Project
from engine.supervision import lights

TREND_EVENTS = (("signed", "签约"), ("landed", "落地"), ("started", "开工"))


@dataclass
class Figures:
    """Every number of the dashboard for one viewer and year."""

    by_stage: dict[str, int]
    money_by_stage: dict[str, Decimal]
    mfg_7yi: int
    lights_by_unit: dict[int, Counter[str]]
    trend: dict[str, list[list[int]]] = field(default_factory=dict)  # event label → 12 months → project ids

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
    for stage, count, total in session.execute(
        select(Project.stage, func.count(), func.coalesce(func.sum(Project.total_investment), 0)).where(*open_projects).group_by(Project.stage)
    ):
        by_stage[stage], money[stage] = int(count), Decimal(total)
    mfg = session.scalar(select(func.count()).select_from(Project).where(*open_projects, Project.is_7yi_manufacturing)) or 0
    by_unit = lights.counts_by_unit(session, now, {unit_id} if unit_id is not None else None)
    return Figures(by_stage, money, int(mfg), by_unit, _trend(session, year, unit_id))


def _trend(session: Session, year: int, unit_id: Optional[int]) -> dict[str, list[list[int]]]:
    """Per event, the ids of the projects that reached it in each month of the year (county time)."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    start = datetime.combine(first, time.min, tzinfo=LOCAL)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=LOCAL)
    columns: dict[str, Any] = {"signed": Project.signed_date, "landed": Project.landed_at, "started": Project.start_date}
    trend: dict[str, list[list[int]]] = {}
    for event, label in TREND_EVENTS:
        column = columns[event]
        window = column.between(first, last) if event != "landed" else (column >= start) & (column < end)
        months: list[list[int]] = [[] for _ in range(12)]
        for project_id, on in session.execute(select(Project.id, column).where(window, *_visible(unit_id)).order_by(Project.id)):
            day = local_date(on) if event == "landed" else on
            if day is not None and day.year == year:
                months[day.month - 1].append(project_id)
        trend[label] = months
    return trend
