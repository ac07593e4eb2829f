"""Timer sweep: fire every due BPMN timer exactly once, loading only the instances that are due.

Due instances are found through the indexed `instance.next_timer_at` column and claimed with
`SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL), so two scheduler processes never fire the same
timer; each batch is one transaction. After downtime every overdue timer fires once on the
first sweep (catch-up), because firing moves `next_timer_at` past now or clears it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, undefer

from engine.workflow import definitions, runtime
from engine.platform.db import Database
from engine.workflow.due import pending_timers
from engine.platform.errors import ConcurrentUpdate
from engine.platform.models import Instance, Project, Task, utcnow


@dataclass
class SweepResult:
    """What one sweep did: instances loaded and fired, timers fired, instances that failed."""

    loaded: int = 0
    instances_fired: int = 0
    timers_fired: int = 0
    failed: list[int] = field(default_factory=list)


def _claim(now: datetime) -> Select[Instance]:
    """Due running instances with their state, locked for this transaction; rows locked elsewhere are skipped."""
    return (
        select(Instance)
        .options(undefer(Instance.state))
        .where(Instance.next_timer_at <= now, Instance.status == "running")
        .with_for_update(skip_locked=True, of=Instance)
    )


def due_instances(session: Session, now: datetime, limit: int, after: Optional[tuple[datetime, int]] = None) -> list[Instance]:
    """Claim up to `limit` due instances in (next_timer_at, id) order, after the key `after` (read off the index)."""
    query = _claim(now).order_by(Instance.next_timer_at, Instance.id).limit(limit)
    if after is not None:
        due, last_id = after
        query = query.where(or_(Instance.next_timer_at > due, and_(Instance.next_timer_at == due, Instance.id > last_id)))
    return list(session.scalars(query))


def fire(session: Session, instance: Instance, project: Project, ready_rows: Optional[list[Task]] = None) -> int:
    """Fire the instance's due timers, run the engine on and persist; returns how many timers fired."""
    loaded = definitions.load(session, instance.definition_id)
    workflow = runtime.checkout(instance, loaded)
    before = pending_timers(workflow)
    workflow.refresh_timers()
    remaining = {t.task_id for t in pending_timers(workflow)}
    fired = [t for t in before if t.task_id not in remaining]
    for timer in fired:
        summary = f"定时器“{timer.name or timer.bpmn_id}”到期触发"
        payload = {"due": timer.due.isoformat(), "task": timer.task_id}
        runtime.log(session, "timer", instance, project, None, timer.bpmn_id, summary, payload)
    with session.no_autoflush:  # the batch flushes once, after its last firing
        runtime.advance(session, instance, project, workflow, loaded, None, flush=False, ready_rows=ready_rows)
    return len(fired)


def _fire_batch(session: Session, instances: list[Instance]) -> SweepResult:
    """Fire a claimed batch inside the caller's transaction (projects and ready task rows loaded in one query each)."""
    done = SweepResult(loaded=len(instances))
    projects = {p.id: p for p in session.scalars(select(Project).where(Project.id.in_({i.project_id for i in instances})))}
    ready: dict[int, list[Task]] = {i.id: [] for i in instances}
    for row in session.scalars(select(Task).where(Task.instance_id.in_(ready), Task.status == "ready")):
        ready[row.instance_id].append(row)
    for instance in instances:
        count = fire(session, instance, projects[instance.project_id], ready[instance.id])
        done.instances_fired += 1 if count else 0
        done.timers_fired += count
    runtime.save_instances(session, instances)
    runtime.flush_or_conflict(session)
    return done


def _add(result: SweepResult, done: SweepResult) -> None:
    """Count a committed batch into the sweep's result."""
    result.loaded += done.loaded
    result.instances_fired += done.instances_fired
    result.timers_fired += done.timers_fired


def _fire_alone(db: Database, instance_id: int, now: datetime, result: SweepResult) -> None:
    """Retry one instance of a failed batch in its own transaction; record a lasting failure on it."""
    try:
        with db.session() as session:
            claimed = list(session.scalars(_claim(now).where(Instance.id == instance_id)))
            if not claimed:
                return
            done = _fire_batch(session, claimed)
        _add(result, done)
    except (ConcurrentUpdate, DBAPIError):
        return  # another writer or a busy database: the timer stays due for the next sweep
    except Exception as exc:  # noqa: BLE001 - a broken instance must not stop the sweep
        result.failed.append(instance_id)
        with db.session() as session:
            instance = session.get(Instance, instance_id)
            if instance is not None and instance.status == "running":
                instance.status = "error"
                message = f"定时器触发失败：{exc}"
                instance.error = {"type": type(exc).__name__, "message": message, "bpmn_id": "", "element_name": "",
                                  "line_number": None, "error_line": None}
                project = session.get(Project, instance.project_id)
                runtime.log(session, "error", instance, project, None, "", message, instance.error)


def sweep(db: Database, now: Optional[datetime] = None, batch_size: int = 200) -> SweepResult:
    """Fire every timer due at `now` (default: the current time) once, batch by batch."""
    now = now or utcnow()
    result = SweepResult()
    after: Optional[tuple[datetime, int]] = None
    while True:
        ids: list[int] = []
        try:
            with db.session() as session:
                instances = due_instances(session, now, batch_size, after)
                ids = [i.id for i in instances]
                if instances:
                    last = instances[-1]
                    assert last.next_timer_at is not None  # due_instances reads only instances with a timer due
                    after = (last.next_timer_at, last.id)
                done = _fire_batch(session, instances)
            _add(result, done)
        except Exception:  # noqa: BLE001 - isolate the failing instance, fire the rest one by one
            if not ids:
                raise
            for instance_id in ids:
                _fire_alone(db, instance_id, now, result)
        if len(ids) < batch_size:
            return result
