"""Warning lights from the task table and progress dates: per task, per project, per unit and deputy.

A task is green until its due time, yellow once overdue, red once overdue by its whole due
duration again. A project in progress is yellow after `progress_yellow_days` without a
progress note and red after `progress_red_days`. A project's light is the worst of these.
Nothing here loads a workflow.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from collections.abc import Iterable
from typing import Any, Optional

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from engine.platform import notifications
from engine.platform import warning_settings
from engine.platform.clock import local_time
from engine.supervision.models import LAST_ACTIVITY
from engine.platform.models import OrgUnit, Project, Task, User

GREEN, YELLOW, RED = "green", "yellow", "red"
LIGHT_NAMES = {GREEN: "绿灯", YELLOW: "黄灯", RED: "红灯"}
_RANK = {GREEN: 0, YELLOW: 1, RED: 2}


def as_utc(value: datetime) -> datetime:
    """SQLite hands stored UTC timestamps back naive, PostgreSQL in its session zone: make every one aware UTC."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


Times = tuple[datetime, datetime]
"""When something turns yellow and when red, if nothing changes."""


def task_times(due_at: datetime, created_at: datetime) -> Times:
    """A task is yellow from its due time and red once overdue by its due duration again."""
    due = as_utc(due_at)
    return due, due + (due - as_utc(created_at))


def progress_times(last_update: datetime, settings: dict[str, Any]) -> Times:
    """A project in progress is yellow after the yellow threshold without a progress note, red after the red one."""
    last = as_utc(last_update)
    return last + timedelta(days=settings["progress_yellow_days"]), last + timedelta(days=settings["progress_red_days"])


def light_at(times: Times, now: datetime) -> str:
    """The light at `now` of something that turns yellow and red at these times."""
    yellow, red = times
    if now < yellow:
        return GREEN
    return RED if now >= red else YELLOW


def task_light(due_at: Optional[datetime], created_at: datetime, now: datetime) -> str:
    """Green before due (always, without a due time), yellow once overdue, red once overdue by the due duration again."""
    return GREEN if due_at is None else light_at(task_times(due_at, created_at), now)


def progress_light(last_update: datetime, now: datetime, settings: dict[str, Any]) -> str:
    """Yellow after the yellow threshold without a progress note, red after the red one."""
    return light_at(progress_times(last_update, settings), now)


def light_times(due_tasks: Iterable[tuple[datetime, datetime]], last_activity: datetime, settings: dict[str, Any]) -> Times:
    """When a project turns yellow and when red if nothing changes: the first of its overdue tasks and of its silence past
    the progress thresholds. `due_tasks` are its ready tasks' (due, created) times."""
    yellow, red = progress_times(last_activity, settings)
    for due_at, created_at in due_tasks:
        task_yellow, task_red = task_times(due_at, created_at)
        yellow, red = min(yellow, task_yellow), min(red, task_red)
    return yellow, red


@dataclass
class Warning:
    """One reason a project is not green: an overdue task or a stale progress record."""

    kind: str
    light: str
    subject: str
    due: datetime
    days_overdue: int
    task_id: Optional[int] = None


@dataclass
class ProjectLight:
    """A project's light with every warning behind it."""

    project_id: int
    name: str
    unit_id: int
    unit_name: str
    deputy_id: int
    deputy_name: str
    status: str
    light: str = GREEN
    warnings: list[Warning] = field(default_factory=list)

    @property
    def days_overdue(self) -> int:
        """The longest overdue of its warnings (the board sorts on it)."""
        return max((w.days_overdue for w in self.warnings), default=0)

    def add(self, warning: Warning) -> None:
        self.warnings.append(warning)
        if _RANK[warning.light] > _RANK[self.light]:
            self.light = warning.light


def _project_rows(ids: list[int]) -> Select[int, str, int, str, int, str, str]:
    """Name, unit and deputy of the given projects."""
    deputy = aliased(User)
    return (
        select(Project.id, Project.name, Project.landing_unit_id, OrgUnit.name, Project.deputy_id, deputy.display_name,
               Project.status)
        .join(OrgUnit, OrgUnit.id == Project.landing_unit_id)
        .join(deputy, deputy.id == Project.deputy_id)
        .where(Project.id.in_(ids))
    )


def _days(now: datetime, since: datetime) -> int:
    return max(int((now - since) / timedelta(days=1)), 0)


def overdue_tasks(session: Session, now: datetime, unit_ids: Optional[set[int]] = None,
                  project_ids: Optional[list[int]] = None) -> list[tuple[Task, str]]:
    """Ready tasks past their due time with their light (yellow or red), from the task table only (of `project_ids` when given)."""
    query = select(Task).where(Task.status == "ready", Task.due_at <= now)
    if project_ids is not None:
        query = query.where(Task.project_id.in_(project_ids))
    if unit_ids is not None:
        query = query.join(Project, Project.id == Task.project_id).where(
            Project.of_units(unit_ids)
        )
    return [(t, task_light(t.due_at, t.created_at, now)) for t in session.scalars(query)]


def stale_projects(session: Session, now: datetime, settings: dict[str, Any],
                   unit_ids: Optional[set[int]] = None, project_ids: Optional[list[int]] = None) -> list[tuple[int, datetime, str]]:
    """(project id, last update, light) of projects in progress past the yellow threshold (of `project_ids` when given)."""
    last = LAST_ACTIVITY
    query = select(Project.id, last).where(
        Project.status == "active", last <= now - timedelta(days=settings["progress_yellow_days"])
    )
    if project_ids is not None:
        query = query.where(Project.id.in_(project_ids))
    if unit_ids is not None:
        query = query.where(Project.of_units(unit_ids))
    rows = []
    for project_id, last_update in session.execute(query):
        rows.append((project_id, as_utc(last_update), progress_light(last_update, now, settings)))
    return rows


def project_lights(session: Session, now: datetime, unit_ids: Optional[set[int]] = None,
                   project_ids: Optional[list[int]] = None) -> dict[int, ProjectLight]:
    """Every project that is not green (of `project_ids` when given), with its warnings; projects absent from the result are green."""
    settings = warning_settings.get_all(session)
    warnings: dict[int, list[Warning]] = {}
    for task, light in overdue_tasks(session, now, unit_ids, project_ids):
        assert task.due_at is not None  # overdue_tasks reads only tasks with a due time
        due = as_utc(task.due_at)
        warnings.setdefault(task.project_id, []).append(Warning("task", light, task.name, due, _days(now, due), task.id))
    for project_id, last_update, light in stale_projects(session, now, settings, unit_ids, project_ids):
        due = last_update + timedelta(days=settings["progress_yellow_days"])
        warnings.setdefault(project_id, []).append(Warning("progress", light, "项目进展未按时更新", due, _days(now, due)))
    result: dict[int, ProjectLight] = {}
    ids = list(warnings)
    for start in range(0, len(ids), 500):
        for pid, name, unit_id, unit_name, deputy_id, deputy_name, status in session.execute(_project_rows(ids[start:start + 500])):
            item = ProjectLight(pid, name, unit_id, unit_name, deputy_id, deputy_name, status)
            for warning in warnings[pid]:
                item.add(warning)
            result[pid] = item
    return result


def lights_of(session: Session, project_ids: list[int], now: datetime) -> dict[int, str]:
    """The light of each given project (for ledgers and project pages), from its stored stamps."""
    result = {pid: GREEN for pid in project_ids}
    for start in range(0, len(project_ids), 500):
        query = select(Project.id, Project.red_at).where(Project.id.in_(project_ids[start:start + 500]), *_flagged(now))
        for pid, red_at in session.execute(query):
            result[pid] = RED if red_at is not None and as_utc(red_at) <= now else YELLOW
    return result


@dataclass
class CountRow:
    """Light counts for one unit or deputy."""

    key: int
    name: str
    green: int = 0
    yellow: int = 0
    red: int = 0

    @property
    def total(self) -> int:
        return self.green + self.yellow + self.red


@dataclass
class Board:
    """The warning board: totals, counts per unit and per deputy, and one page of the red and of the yellow list."""

    totals: CountRow
    by_unit: list[CountRow]
    by_deputy: list[CountRow]
    red: list[ProjectLight]
    yellow: list[ProjectLight]
    generated_at: datetime
    red_total: int = 0
    yellow_total: int = 0
    page: int = 1
    pages: int = 1


BOARD_PAGE = 50  # projects per list on one page of the board


def _ranked(rows: dict[int, CountRow]) -> list[CountRow]:
    """Most red first, then most yellow, then by name."""
    return sorted(rows.values(), key=lambda r: (-r.red, -r.yellow, r.name))


def board(session: Session, now: datetime, unit_ids: Optional[set[int]] = None, sort: str = "days",
          unit_filter: Optional[int] = None, deputy_filter: Optional[int] = None, page: int = 1, per_page: int = BOARD_PAGE) -> Board:
    """Lights of projects in progress per unit and deputy, and the lists' `page`.

    The counts are two aggregates of `ix_project_light` by unit and deputy (projects in
    progress; flagged ones and how many of them are red); the names come with the few units
    and deputies. Each list is one page read in index order: `sort` orders it (days: the
    longest overdue first, -days, name); `unit_filter` and `deputy_filter` narrow the lists
    (not the counts). Only the listed projects' warnings are read in full.
    """
    visible = (Project.of_units(unit_ids),) if unit_ids is not None else ()
    by_pair: dict[tuple[int, int], list[int]] = {}  # (unit, deputy) → [in progress, yellow, red]
    active = select(Project.landing_unit_id, Project.deputy_id, func.count()).where(Project.status == "active", *visible)
    for unit_id, deputy_id, count in session.execute(active.group_by(Project.landing_unit_id, Project.deputy_id)):
        by_pair[(unit_id, deputy_id)] = [count, 0, 0]
    flagged = select(Project.landing_unit_id, Project.deputy_id, func.count(), func.count(case((Project.red_at <= now, 1))))
    for unit_id, deputy_id, count, red in session.execute(flagged.where(*_flagged(now, unit_ids)).group_by(Project.landing_unit_id, Project.deputy_id)):
        by_pair.setdefault((unit_id, deputy_id), [count, 0, 0])[1:] = [count - red, red]
    unit_names = {key: name for key, name in session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_({u for u, _ in by_pair})))}
    deputy_names = {key: name for key, name in session.execute(
        select(User.id, User.display_name).where(User.id.in_({d for _, d in by_pair})))}
    units: dict[int, CountRow] = {}
    deputies: dict[int, CountRow] = {}
    totals = CountRow(0, "合计")
    listed = {RED: 0, YELLOW: 0}
    for (unit_id, deputy_id), (count, yellow, red) in by_pair.items():
        for row in (units.setdefault(unit_id, CountRow(unit_id, unit_names.get(unit_id, ""))),
                    deputies.setdefault(deputy_id, CountRow(deputy_id, deputy_names.get(deputy_id, ""))), totals):
            row.green, row.yellow, row.red = row.green + count - yellow - red, row.yellow + yellow, row.red + red
        if unit_filter in (None, unit_id) and deputy_filter in (None, deputy_id):
            listed[RED] += red
            listed[YELLOW] += yellow
    narrowed = [*_flagged(now, unit_ids)]
    if unit_filter is not None:
        narrowed.append(Project.landing_unit_id == unit_filter)
    if deputy_filter is not None:
        narrowed.append(Project.deputy_id == deputy_filter)
    order = {"-days": (Project.yellow_at.desc(), Project.id.desc()), "name": (Project.name, Project.yellow_at, Project.id)}.get(
        sort, (Project.yellow_at, Project.id))
    start = (max(page, 1) - 1) * per_page
    shown = {light: list(session.scalars(select(Project.id).where(*narrowed, which).order_by(*order).offset(start).limit(per_page)))
             for light, which in ((RED, Project.red_at <= now), (YELLOW, Project.red_at > now))}
    details = project_lights(session, now, project_ids=shown[RED] + shown[YELLOW]) if shown[RED] or shown[YELLOW] else {}
    return Board(
        totals=totals,
        by_unit=_ranked(units),
        by_deputy=_ranked(deputies),
        red=[details[pid] for pid in shown[RED] if pid in details],
        yellow=[details[pid] for pid in shown[YELLOW] if pid in details],
        generated_at=now,
        red_total=listed[RED],
        yellow_total=listed[YELLOW],
        page=max(page, 1),
        pages=max(1, -(-max(listed[RED], listed[YELLOW]) // per_page)),
    )


def scan(session: Session, now: datetime) -> int:
    """Notify the responsible officials and the office once when a task turns yellow and once when red."""
    overdue = overdue_tasks(session, now)
    keys = [f"task:{task.id}:{light}" for task, light in overdue]
    already = notifications.sent_alerts(session, keys)
    office = notifications.audience(session, "alerts.receive")
    sent = 0
    for (task, light), key in zip(overdue, keys):
        if key in already or not notifications.claim_alert(session, key):
            continue
        assert task.due_at is not None  # overdue_tasks reads only tasks with a due time
        due = as_utc(task.due_at)
        project = session.get(Project, task.project_id)
        days = _days(now, due)
        title = f"【{LIGHT_NAMES[light]}】{project.name if project else ''}：“{task.name}”已逾期{days}天"
        body = (f"办理时限：{local_time(due):%Y-%m-%d %H:%M}。"
                + ("已超出办理时限一倍，请立即办理并说明原因。" if light == RED else "请尽快办理。"))
        users = notifications.responsible_for(session, task) | office
        notifications.notify(session, users, f"task_{light}", title, body, f"/tasks/{task.id}", task.project_id)
        sent += 1
    return sent


class LedgerLights:
    """The lights as the project ledger asks for them: a filter by light and each row's light."""

    def matching(self, now: datetime, light: str) -> list[ColumnElement[bool]]:
        """Conditions on Project that keep the projects showing `light` at `now`, from their stamps (green: active and not yet yellow)."""
        if light == GREEN:
            return [Project.status == "active", or_(Project.yellow_at.is_(None), Project.yellow_at > now)]
        if light == RED:
            return [*_flagged(now), Project.red_at <= now]
        if light == YELLOW:
            return [*_flagged(now), Project.red_at > now]
        return []

    def lights_of(self, session: Session, project_ids: list[int], now: datetime) -> dict[int, str]:
        """The light of each given project."""
        return lights_of(session, project_ids, now)


LEDGER = LedgerLights()


def _flagged(now: datetime, unit_ids: Optional[set[int]] = None) -> tuple[ColumnElement[bool], ...]:
    """Projects in progress (of `unit_ids` when given) that are not green at `now`: their yellow stamp has passed.

    The same rule as `project_lights` (an overdue task, a stale progress record; the worse
    wins), read from the stamps `engine.supervision.stamps` keeps, one range of `ix_project_light`.
    """
    visible = (Project.of_units(unit_ids),) if unit_ids is not None else ()
    return (Project.status == "active", Project.yellow_at <= now, *visible)


def counts_by_unit(session: Session, now: datetime, unit_ids: Optional[set[int]] = None) -> dict[int, Counter[str]]:
    """How many projects of each landing unit are yellow and red, counted by the database from the stamps."""
    counts: dict[int, Counter[str]] = {}
    query = (select(Project.landing_unit_id, func.count(), func.count(case((Project.red_at <= now, 1))))
             .where(*_flagged(now, unit_ids)).group_by(Project.landing_unit_id))
    for unit_id, flagged, red in session.execute(query):
        counts[unit_id] = Counter({YELLOW: flagged - red, RED: red})
    return counts
