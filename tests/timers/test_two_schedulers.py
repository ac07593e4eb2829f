"""Two real scheduler processes on PostgreSQL sweep the same 1,000 due timers: each fires exactly once, every instance restores."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.platform.config import PROJECT_ROOT
from engine.platform.models import Event, Instance, Task, utcnow
from engine.platform.db import Database
from tests.conftest import PG_URL, Helper
from tests.faults.checks import unrestorable_instances
from tests.timers.seeding import deploy_wait, seed

pytestmark = pytest.mark.postgres


@pytest.mark.skipif(not PG_URL, reason="needs ZHIKONG_TEST_PG")
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_two_scheduler_processes_fire_each_of_1000_due_timers_exactly_once(db: Database, tmp_path: Path) -> None:
    h = Helper(db)
    now = utcnow()
    due = [now - timedelta(minutes=1 + i % 600) for i in range(1000)]
    later = [now + timedelta(days=1)] * 200
    seed(db, deploy_wait(db), due + later, h.unit("anwen"), h.user("fx_gongye").id)
    go = tmp_path / "go"
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    workers = [
        subprocess.Popen([sys.executable, "-m", "tests.timers.worker", db.url, "timers", str(go)],
                         cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    go.touch()
    outputs = [w.communicate(timeout=300) for w in workers]
    assert all(w.returncode == 0 for w in workers), [err[-2000:] for _, err in outputs]
    results = [json.loads(out) for out, _ in outputs]
    assert sum(r["timers_fired"] for r in results) == 1000
    assert all(r["timers_fired"] > 0 for r in results), results  # both processes took part
    with db.session() as s:
        per_instance = dict(s.execute(select(Event.instance_id, func.count()).where(Event.kind == "timer").group_by(Event.instance_id)).all())
        assert len(per_instance) == 1000 and set(per_instance.values()) == {1}
        assert s.scalars(select(func.count()).select_from(Task).where(Task.bpmn_id == "after_wait", Task.status == "ready")).one() == 1000
        still_waiting = s.scalars(select(func.count()).select_from(Instance).where(Instance.next_timer_at.is_not(None))).one()
        assert still_waiting == 200
    assert unrestorable_instances(db) == []
