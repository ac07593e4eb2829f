"""Each project's light stamps (yellow_at, red_at), kept by every unit of work that changes what they are computed from.

A project's light at any moment follows from two times: when it turns yellow and when it
turns red if nothing changes (its earliest overdue task or its silence past the progress
thresholds, `lights.light_times`). Storing them lets the cockpit, the warning board and the
ledger's light filter count flagged projects from one index, with no job moving lights as
time passes. The stamps move only when a project's ready tasks, its last progress note or the
progress thresholds change: the unit of work notes those changes as they are flushed (or
written past the flush) and restamps the noted projects before it commits.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.orm import Session

from engine.platform import db, warning_settings
from engine.platform.models import Project, Task
from engine.platform.prepared import Prepared, connection_of
from engine.supervision.lights import as_utc, light_times
from engine.supervision.models import LAST_ACTIVITY

_NOTED = "light_stamps_noted"  # session.info: the task and project rows whose projects this unit of work restamps
_EVERY = "light_stamps_every"  # session.info: the thresholds changed, so every project is restamped
TASK_FIELDS = ("status", "due_at", "created_at", "project_id")
PROJECT_FIELDS = ("last_progress_at", "registered_at")
THRESHOLDS = ("progress_yellow_days", "progress_red_days")
CHUNK = 500  # noted projects per read
SPAN = 5000  # project ids per read when every project is restamped

DEFAULTS = {key: warning_settings.SPEC_BY_KEY[key].default for key in THRESHOLDS}
_READ = (
    select(Project.id, LAST_ACTIVITY, Project.yellow_at, Project.red_at, Task.due_at, Task.created_at,
           *(select(warning_settings.WarningSetting.value).where(warning_settings.WarningSetting.key == key).scalar_subquery()
             for key in THRESHOLDS))
    .outerjoin(Task, and_(Task.project_id == Project.id, Task.status == "ready", Task.due_at.is_not(None)))
)
"""Projects with their ready tasks that have a due time, and the stored progress thresholds (null: the default)."""
_IDS = Project.id.in_(bindparam("ids", expanding=True))
_SPAN = Project.id.between(bindparam("low"), bindparam("high"))
_BY_IDS = (Prepared(_READ.where(_IDS)), Prepared(select(Project.id).where(_IDS).order_by(Project.id).with_for_update()))
_BY_SPAN = (Prepared(_READ.where(_SPAN)), Prepared(select(Project.id).where(_SPAN).order_by(Project.id).with_for_update()))
"""Each read with the statement that first locks its projects' rows in id order: two units of work restamping one project
take turns, and the second reads what the first committed (PostgreSQL; SQLite has one writer)."""
_RESTAMP = Prepared(update(Project.__table__).where(Project.__table__.c.id == bindparam("project_id")).values(
    yellow_at=bindparam("yellow"), red_at=bindparam("red")))


def note_changes(session: Session) -> None:
    """Note the projects whose ready tasks or progress this flush changes (the unit of work's flush watcher)."""
    noted: list[Any] = []
    for row in session.new:
        if isinstance(row, (Task, Project)):
            noted.append(row)
        elif isinstance(row, warning_settings.WarningSetting) and row.key in THRESHOLDS:
            session.info[_EVERY] = True
    for row in session.dirty:
        if isinstance(row, Task) and db.changed(row, TASK_FIELDS) or isinstance(row, Project) and db.changed(row, PROJECT_FIELDS):
            noted.append(row)
        elif isinstance(row, warning_settings.WarningSetting) and row.key in THRESHOLDS and db.changed(row, ("value",)):
            session.info[_EVERY] = True
    noted.extend(row for row in session.deleted if isinstance(row, Task))
    if noted:
        session.info.setdefault(_NOTED, []).extend(noted)


def note_written(session: Session, rows: list[Any], new: bool) -> None:
    """Note the projects of task rows written past the flush, of new projects and of projects whose progress changed, as the
    flush watcher does (the unit of work's written watcher). A task row is noted whatever it holds: a claim writes its row with
    no change history to read."""
    noted = [row for row in rows if isinstance(row, Task) or isinstance(row, Project) and (new or db.changed(row, PROJECT_FIELDS))]
    if noted:
        session.info.setdefault(_NOTED, []).extend(noted)


def restamp_noted(session: Session) -> None:
    """The unit of work's commit step: recompute the stamps of the projects it noted (of every project after a threshold change)."""
    noted = session.info.pop(_NOTED, [])
    if session.info.pop(_EVERY, False):
        session.flush()
        restamp(session, None)
        return
    if not noted:
        return
    session.flush()
    ids = {row.id if isinstance(row, Project) else row.project_id for row in noted}
    restamp(session, sorted(pid for pid in ids if pid is not None))


def restamp(session: Session, project_ids: Optional[Iterable[int]]) -> int:
    """Recompute and store the stamps of these projects (None: every project); returns how many changed."""
    if project_ids is None:
        low, high = session.execute(select(func.min(Project.id), func.max(Project.id))).one()
        batches = [{"low": start, "high": start + SPAN - 1} for start in range(low or 1, (high or 0) + 1, SPAN)]
        return sum(_restamp(session, _BY_SPAN, batch) for batch in batches)
    ids = sorted(project_ids)
    return sum(_restamp(session, _BY_IDS, {"ids": ids[start:start + CHUNK]}) for start in range(0, len(ids), CHUNK))


def _restamp(session: Session, statements: tuple[Prepared, Prepared], batch: dict[str, Any]) -> int:
    """Restamp the projects a (read, lock) pair selects: one read of each with its ready tasks that have a due time and the progress
    thresholds, one batched UPDATE of those whose stamps moved."""
    found: dict[int, tuple[datetime, Optional[datetime], Optional[datetime], list[tuple[datetime, datetime]]]] = {}
    settings: dict[str, Any] = {}
    read, lock = statements
    if connection_of(session)[0].dialect.name == "postgresql" and not _locked(session, batch):
        lock.rows(session, batch)
    for project_id, last_activity, yellow_at, red_at, due_at, created_at, *thresholds in read.rows(session, batch):
        tasks = found.setdefault(project_id, (last_activity, yellow_at, red_at, []))[3]
        if due_at is not None:
            tasks.append((due_at, created_at))
        settings = {key: DEFAULTS[key] if value is None else value for key, value in zip(THRESHOLDS, thresholds)}
    moved = []
    for project_id, (last_activity, yellow_at, red_at, tasks) in found.items():
        yellow, red = light_times(tasks, last_activity, settings)
        if not (_same(yellow, yellow_at) and _same(red, red_at)):
            moved.append({"project_id": project_id, "yellow": yellow, "red": red})
    if moved:
        _RESTAMP.run_many(session, moved)
    return len(moved)


def _locked(session: Session, batch: dict[str, Any]) -> bool:
    """Whether this transaction already holds the row lock of every project the batch names (it has updated each row)."""
    updated = db.updated_rows(session)
    return "ids" in batch and all((Project.__table__.name, project_id) in updated for project_id in batch["ids"])


def _same(value: datetime, stored: Optional[datetime]) -> bool:
    """Whether a stored stamp already holds `value`."""
    return stored is not None and as_utc(stored) == value
