"""The leader dashboard's figures (驾驶舱): counts and sums computed by the database, never by loading every project.

Stages, money and the 7亿+ count are one GROUP BY over an index of the project table; the lights
by unit are counted by the database from the task table and the progress dates; the monthly trend
is one count per month of the projects that signed, landed or started, each a range of its date index.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import ColumnElement, Select, bindparam, case, func, or_, select
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


def month_window(event: str, year: int, month: int) -> ColumnElement[bool]:
    """The projects that reached `event` (signed, landed, started) in that month of the county's calendar."""
    column: ColumnElement[Any] = TREND_COLUMNS[event]
    first, after = _bounds(event, year, month)
    inside: ColumnElement[bool] = (column >= first) & (column < after)
    return inside


def _bounds(event: str, year: int, month: int) -> tuple[Any, Any]:
    """The first value in the month and the first after it, as the event's column stores them."""
    first, after = date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)
    return (day_starts(first), day_starts(after)) if event == "landed" else (first, after)


@cache
def _trend_statement(scoped: bool) -> Select[Any]:
    """36 counts of index ranges (3 events × 12 months) in one statement, bounds and unit as parameters; built once."""
    unit = (or_(Project.landing_unit_id == bindparam("unit"), Project.attracting_unit_id == bindparam("unit")),) if scoped else ()
    return select(*(
        select(func.count()).select_from(Project).where(
            TREND_COLUMNS[event] >= bindparam(f"{event}_{month}_from"), TREND_COLUMNS[event] < bindparam(f"{event}_{month}_to"), *unit
        ).scalar_subquery()
        for event, _label in TREND_EVENTS for month in range(1, 13)
    ))


def _trend(session: Session, year: int, unit_id: Optional[int]) -> dict[str, list[int]]:
    """Per event, how many projects reached it in each month of the year (county time), counted by the database."""
    params: dict[str, Any] = {"unit": unit_id}
    for event, _label in TREND_EVENTS:
        for month in range(1, 13):
            params[f"{event}_{month}_from"], params[f"{event}_{month}_to"] = _bounds(event, year, month)
    found = [int(n) for n in session.execute(_trend_statement(unit_id is not None), params).one()]
    return {label: found[12 * index:12 * index + 12] for index, (_event, label) in enumerate(TREND_EVENTS)}
