"""`zhikong scheduler` and `zhikong serve` run the jobs as real processes: timers fire, heartbeats beat."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from collections.abc import Callable

from sqlalchemy import func, select

from engine.workflow import definitions
from engine.platform.config import PROJECT_ROOT
from engine.platform.db import Database
from engine.workflow.health import SchedulerHeartbeat
from engine.platform.models import Event, utcnow
from tests.conftest import BPMN_DIR, Helper
from tests.timers.seeding import deploy_wait, seed

ZHIKONG = str(Path(sys.executable).with_name("zhikong"))


def ready_database(db: Database) -> Helper:
    """The bpmn/ bundle's other processes deployed as `make run` does, and three overdue timers."""
    with db.session() as s:
        for process in ("coordination_item", "assessment_scoring"):
            definitions.deploy(s, definitions.read_bundle(BPMN_DIR), process)
    h = Helper(db)
    now = utcnow()
    seed(db, deploy_wait(db), [now - timedelta(hours=1)] * 3 + [now + timedelta(days=3)], h.unit("anwen"), h.user("fx_gongye").id)
    return h


def fired(db: Database) -> int:
    with db.session() as s:
        return s.scalars(select(func.count()).select_from(Event).where(Event.kind == "timer")).one() or 0


def beats(db: Database) -> set[str]:
    with db.session() as s:
        return set(s.scalars(select(SchedulerHeartbeat.name)))


def wait_for(condition: Callable[[], object], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def env(db: Database) -> dict[str, str]:
    return dict(os.environ, DATABASE_URL=db.url, ZHIKONG_SECRET_KEY="cli-test")


def test_scheduler_once_runs_every_job_and_fires_the_due_timers(sqlite_db: Database) -> None:
    ready_database(sqlite_db)
    done = subprocess.run([ZHIKONG, "scheduler", "--once"], env=env(sqlite_db), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "timers_fired=3" in done.stdout and "outbox: DispatchResult" in done.stdout
    assert fired(sqlite_db) == 3
    assert {"scheduler.timers", "scheduler.deadlines", "scheduler.outbox", "scheduler.monthly"} <= beats(sqlite_db)


def test_the_standalone_scheduler_fires_timers_and_stops_on_sigterm(sqlite_db: Database) -> None:
    ready_database(sqlite_db)
    process = subprocess.Popen([ZHIKONG, "scheduler"], env=env(sqlite_db), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: fired(sqlite_db) == 3 and "scheduler.outbox" in beats(sqlite_db))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    assert process.returncode == 0


def test_serve_runs_the_scheduler_beside_the_web_server(sqlite_db: Database) -> None:
    ready_database(sqlite_db)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([ZHIKONG, "serve", "--port", str(port)], env=env(sqlite_db), cwd=PROJECT_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: fired(sqlite_db) == 3 and "scheduler.timers" in beats(sqlite_db))
    finally:
        process.terminate()
        process.wait(30)
