"""Timer fixtures: the small timer test bundle deployed, instances started on it, time travel."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select

from engine.workflow import definitions, runtime
from engine.projects import record
from engine.platform.db import Database
from engine.platform.models import Event, Instance, Project, Task, User, utcnow

BUNDLE = Path(__file__).resolve().parent / "bundle"
PROCESS = "timer_demo"
START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 in Asia/Shanghai


class TimerHelper:
    """Start instances of the timer test process and look at what the engine left behind."""

    def __init__(self, db: Database) -> None:
        self.db = db
        with db.session() as s:
            row, _ = definitions.deploy(s, definitions.read_bundle(BUNDLE), PROCESS)
            self.definition_id = row.id

    def user(self, username: str) -> User:
        with self.db.session() as s:
            return s.scalars(select(User).where(User.username == username)).one()

    def start(self, name: str = "定时器测试项目", by: str = "anwen") -> int:
        """Register a project without a lifecycle and start the timer process for it; returns the instance id."""
        with self.db.session() as s:
            actor = s.merge(self.user(by))
            values = record.validate(
                s,
                {"name": name, "investor": "测试投资方", "category": "industrial", "total_investment": 1000,
                 "landing_unit_id": actor.unit_id, "deputy_id": self.user("fx_gongye").id},
            ).values
            project = Project(**values, registered_by=actor.id, last_progress_at=utcnow())
            s.add(project)
            s.flush()
            return runtime.start_instance(s, project, self.definition_id, actor).instance_id

    def instance(self, instance_id: int) -> Instance:
        with self.db.session() as s:
            return s.get_one(Instance, instance_id)

    def ready(self, instance_id: int) -> dict[str, Task]:
        with self.db.session() as s:
            rows = s.scalars(select(Task).where(Task.instance_id == instance_id, Task.status == "ready"))
            return {t.bpmn_id: t for t in rows}

    def task_status(self, instance_id: int, bpmn_id: str) -> list[str]:
        with self.db.session() as s:
            return list(s.scalars(select(Task.status).where(Task.instance_id == instance_id, Task.bpmn_id == bpmn_id)))

    def complete(self, instance_id: int, bpmn_id: str, username: str, data: dict[str, Any]) -> None:
        task = self.ready(instance_id)[bpmn_id]
        with self.db.session() as s:
            runtime.complete_task(s, task.id, s.merge(self.user(username)), data, at_meeting=True)

    def timer_events(self, instance_id: int | None = None) -> list[str]:
        """bpmn ids of the timer firings logged (for one instance, or all)."""
        with self.db.session() as s:
            query = select(Event.bpmn_id).where(Event.kind == "timer").order_by(Event.id)
            if instance_id is not None:
                query = query.where(Event.instance_id == instance_id)
            return list(s.scalars(query))

    def count_timer_events(self) -> dict[int | None, int]:
        with self.db.session() as s:
            rows = s.execute(select(Event.instance_id, func.count()).where(Event.kind == "timer").group_by(Event.instance_id))
            return {i: n for i, n in rows}


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """Frozen time starting at START; `clock.shift(timedelta)` moves it on."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def th(db: Database, clock: time_machine.Traveller) -> TimerHelper:  # noqa: ARG001 - the clock must run first
    return TimerHelper(db)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
