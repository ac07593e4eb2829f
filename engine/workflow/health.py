"""Liveness and metrics: scheduler heartbeats, the /healthz verdict and Prometheus gauges from the task table."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional, overload

from sqlalchemy import DateTime, String, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.platform.models import Base, Instance, Task, utcnow

DEFAULT_HEARTBEAT_MAX_AGE = 180
INSTANCE_STATUSES = ("running", "error", "suspended", "completed", "terminated")


class SchedulerHeartbeat(Base):
    """The last time a named scheduler process finished a loop; /healthz reads its age."""

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


def heartbeat_max_age() -> int:
    """Seconds after which a silent scheduler makes /healthz fail (ZHIKONG_HEARTBEAT_MAX_AGE)."""
    return int(os.environ.get("ZHIKONG_HEARTBEAT_MAX_AGE", DEFAULT_HEARTBEAT_MAX_AGE))


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
class HealthReport:
    """The verdict of /healthz: ok, and one line per check that failed."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    heartbeats: dict[str, float] = field(default_factory=dict)


def check(session: Session, max_age: int, now: Optional[datetime] = None) -> HealthReport:
    """Database reachable and the newest scheduler heartbeat younger than `max_age` seconds."""
    now = now or utcnow()
    session.execute(text("SELECT 1"))
    ages = {row.name: (now - as_utc(row.beat_at)).total_seconds() for row in session.scalars(select(SchedulerHeartbeat))}
    report = HealthReport(ok=True, heartbeats=ages)
    if not ages:
        report.problems.append("调度器从未上报心跳（scheduler heartbeat missing）")
    elif min(ages.values()) > max_age:
        report.problems.append(
            f"调度器心跳已 {int(min(ages.values()))} 秒未更新，超过 {max_age} 秒上限（scheduler heartbeat stale）"
        )
    report.ok = not report.problems
    return report


@dataclass(frozen=True)
class Sample:
    """One Prometheus sample: metric name, labels, value."""

    name: str
    labels: tuple[tuple[str, str], ...]
    value: float


@dataclass
class Family:
    """A metric family with its help text, type and samples."""

    name: str
    help: str
    kind: str
    samples: list[Sample] = field(default_factory=list)


def gauges(session: Session, now: Optional[datetime] = None) -> list[Family]:
    """Instances by status, ready/overdue/orphaned tasks, timer sweep lag and heartbeat ages."""
    now = now or utcnow()
    by_status = dict(session.execute(select(Instance.status, func.count()).group_by(Instance.status)).all())
    has_ready = select(Task.id).where(Task.instance_id == Instance.id, Task.status == "ready").exists()
    waiting_timer = session.scalar(
        select(func.count()).select_from(Instance).where(
            Instance.status == "running", Instance.next_timer_at.is_not(None), ~has_ready
        )
    )
    instances = Family("zhikong_instances", "Process instances by status (waiting_timer: running, no ready task, a timer pending).", "gauge")
    for status in sorted(set(INSTANCE_STATUSES) | set(by_status)):
        instances.samples.append(Sample("zhikong_instances", (("status", status),), by_status.get(status, 0)))
    instances.samples.append(Sample("zhikong_instances", (("status", "waiting_timer"),), waiting_timer or 0))
    ready = session.scalar(select(func.count()).select_from(Task).where(Task.status == "ready")) or 0
    overdue = session.scalar(
        select(func.count()).select_from(Task).where(Task.status == "ready", Task.due_at < now)
    ) or 0
    orphaned = session.scalar(
        select(func.count()).select_from(Task).where(Task.status == "ready", Task.orphaned_at.is_not(None))
    ) or 0
    oldest_due = session.scalar(
        select(func.min(Instance.next_timer_at)).where(Instance.status == "running", Instance.next_timer_at <= now)
    )
    lag = max(0.0, (now - as_utc(oldest_due)).total_seconds()) if oldest_due is not None else 0.0
    families = [
        instances,
        _single("zhikong_ready_tasks", "User tasks waiting in someone's inbox.", ready),
        _single("zhikong_overdue_tasks", "Ready user tasks past their due time.", overdue),
        _single("zhikong_orphaned_tasks", "Ready user tasks that no active official may act on.", orphaned),
        _single("zhikong_timer_sweep_lag_seconds", "Age of the oldest due timer not yet fired (0 when none is due).", lag),
    ]
    beats = Family("zhikong_scheduler_heartbeat_age_seconds", "Seconds since each scheduler's last heartbeat.", "gauge")
    for row in session.scalars(select(SchedulerHeartbeat).order_by(SchedulerHeartbeat.name)):
        beats.samples.append(Sample(beats.name, (("scheduler", row.name),), (now - as_utc(row.beat_at)).total_seconds()))
    families.append(beats)
    return families


def _single(name: str, help_text: str, value: float) -> Family:
    return Family(name, help_text, "gauge", [Sample(name, (), float(value))])


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def render(families: list[Family]) -> str:
    """Prometheus text exposition format 0.0.4."""
    lines = []
    for family in families:
        lines.append(f"# HELP {family.name} {family.help}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for sample in family.samples:
            labels = ",".join(f'{key}="{_escape(val)}"' for key, val in sample.labels)
            lines.append(f"{sample.name}{{{labels}}} {_number(sample.value)}" if labels else f"{sample.name} {_number(sample.value)}")
    return "\n".join(lines) + "\n"
