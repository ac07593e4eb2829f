"""Readiness and metrics: scheduler heartbeats, the /readyz verdict (database, schema, scheduler) and the gauges /metrics reads from the task table."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional, overload

from sqlalchemy import DateTime, String, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.platform import schema
from engine.platform.notifications import OutboxMessage
from engine.platform.models import Base, Instance, Task, utcnow

INSTANCE_STATUSES = ("running", "error", "suspended", "completed", "terminated")


class SchedulerHeartbeat(Base):
    """The last time a named scheduler process finished a loop; /readyz reads its age."""

    __tablename__ = "scheduler_heartbeat"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def beat(session: Session, name: str, at: Optional[datetime] = None) -> None:
    """Record that scheduler `name` is alive now (an upsert, safe for several processes)."""
    values = {"name": name, "beat_at": at or utcnow()}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(SchedulerHeartbeat).values(**values)
    statement = statement.on_conflict_do_update(index_elements=["name"], set_={"beat_at": values["beat_at"]})
    session.execute(statement)


@overload
def as_utc(value: datetime) -> datetime: ...


@overload
def as_utc(value: None) -> None: ...


def as_utc(value: Optional[datetime]) -> Optional[datetime]:
    """Stored timestamps come back naive from SQLite; every one of them is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


@dataclass
class Readiness:
    """The verdict of /readyz: ok, and one line per check that failed; heartbeat ages by scheduler job."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    heartbeats: dict[str, float] = field(default_factory=dict)


def heartbeat_ages(session: Session, now: datetime) -> dict[str, float]:
    """Seconds since each scheduler job's last heartbeat."""
    return {row.name: (now - as_utc(row.beat_at)).total_seconds() for row in session.scalars(select(SchedulerHeartbeat))}


def readiness(session: Session, max_age: int, now: Optional[datetime] = None) -> Readiness:
    """The database answers, its schema is at this code's migration head, and the newest scheduler heartbeat is younger than `max_age` seconds."""
    now = now or utcnow()
    behind = schema.behind(session.connection())
    if behind is not None:
        return Readiness(ok=False, problems=[behind])
    ages = heartbeat_ages(session, now)
    report = Readiness(ok=True, heartbeats=ages)
    if not ages:
        report.problems.append("调度器从未上报心跳，请运行 zhikong scheduler（scheduler heartbeat missing）")
    elif min(ages.values()) > max_age:
        report.problems.append(
            f"调度器心跳已 {int(min(ages.values()))} 秒未更新，超过 {max_age} 秒上限（scheduler heartbeat stale）"
        )
    report.ok = not report.problems
    return report


@dataclass
class Readings:
    """What /metrics reads from the database at each scrape: counts and ages only, never names."""

    instances: dict[str, int]
    ready_tasks: int
    overdue_tasks: int
    orphaned_tasks: int
    timer_lag_seconds: float
    outbox_backlog: int
    heartbeat_ages: dict[str, float]


def readings(session: Session, now: Optional[datetime] = None) -> Readings:
    """Instances by status (and waiting on a timer), ready/overdue/orphaned tasks, timer sweep lag, unsent notifications, heartbeat ages."""
    now = now or utcnow()
    by_status = {status: 0 for status in INSTANCE_STATUSES}
    by_status.update(session.execute(select(Instance.status, func.count()).group_by(Instance.status)).all())
    has_ready = select(Task.id).where(Task.instance_id == Instance.id, Task.status == "ready").exists()
    by_status["waiting_timer"] = session.scalar(
        select(func.count()).select_from(Instance).where(
            Instance.status == "running", Instance.next_timer_at.is_not(None), ~has_ready
        )
    ) or 0
    ready = select(func.count()).select_from(Task).where(Task.status == "ready")
    oldest_due = session.scalar(
        select(func.min(Instance.next_timer_at)).where(Instance.status == "running", Instance.next_timer_at <= now)
    )
    return Readings(
        instances=by_status,
        ready_tasks=session.scalar(ready) or 0,
        overdue_tasks=session.scalar(ready.where(Task.due_at < now)) or 0,
        orphaned_tasks=session.scalar(ready.where(Task.orphaned_at.is_not(None))) or 0,
        timer_lag_seconds=max(0.0, (now - as_utc(oldest_due)).total_seconds()) if oldest_due is not None else 0.0,
        outbox_backlog=session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status.in_(("pending", "sending")))
        ) or 0,
        heartbeat_ages=heartbeat_ages(session, now),
    )
