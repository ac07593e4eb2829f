"""Data outlives versions: a database made at the first schema upgrades in place and keeps working."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import func, select

from engine.supervision import stamps
from engine.workflow import runtime, state
from engine.platform import schema
from engine.platform.db import Database
from engine.platform.models import Event, Instance, Project, Task, User
from engine.platform.org import can_act

DUMP = Path(__file__).resolve().parent.parent / "fixtures" / "zhikong_0001.sql"


def test_first_schema_database_upgrades_without_losing_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(DUMP.read_text(encoding="utf-8"))
    db = Database(f"sqlite:///{path}")
    with db.engine.connect() as conn:
        before = {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar() for t in ("project", "instance", "task", "event", "app_user")}
        names = [r[0] for r in conn.exec_driver_sql("SELECT name FROM project ORDER BY id")]
    schema.upgrade(db)
    schema.upgrade(db)  # a second `make run` is a no-op
    state.WORKFLOWS.clear()
    with db.session() as s:
        after = {
            "project": s.scalars(select(func.count(Project.id))).one(),
            "instance": s.scalars(select(func.count(Instance.id))).one(),
            "task": s.scalars(select(func.count(Task.id))).one(),
            "event": s.scalars(select(func.count(Event.id))).one(),
            "app_user": s.scalars(select(func.count(User.id))).one(),
        }
        assert [p.name for p in s.scalars(select(Project).order_by(Project.id))] == names
        assert s.scalar(select(func.count()).where(Project.yellow_at.is_(None))) == 0
        assert stamps.restamp(s, None) == 0  # the upgrade stamped every project's light as the unit of work would
        task = s.scalars(select(Task).where(Task.status == "ready", Task.bpmn_id == "confirm_intent")).first()
        assert task is not None
        actor = next(u for u in s.scalars(select(User)) if can_act(u, task))
        outcome = runtime.complete_task(s, task.id, actor, {"has_intent": True, "opinion": "升级后继续办理"})
    assert after == before
    assert [t.bpmn_id for t in outcome.ready] == ["feasibility_review"]
    db.dispose()
