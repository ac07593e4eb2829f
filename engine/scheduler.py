"""Background jobs on APScheduler: timer sweep, deadline and progress warnings, monthly reminders and notices,
overdue coordination items, and the notification outbox.

The same jobs run inside `zhikong serve` (a background thread) or in a standalone
`zhikong scheduler` process; every job calls engine functions only and beats a heartbeat
(`scheduler.<job>`) after each run. On start every job runs at once, which is the catch-up
after downtime.
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Optional

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler

from engine.supervision import coordination, lights, monthly, notices, progress
from engine.elements import fund
from engine.workflow import health, step_times, timers
from engine.platform import notifications
from engine.platform.config import Settings
from engine.platform.db import Database
from engine.platform.models import utcnow

log = logging.getLogger("zhikong.scheduler")
STOPPING = threading.Event()
"""Set on SIGTERM: the outbox hands back the claims it has not started sending, and the process ends."""


def _in_session(work: Callable[[Any, datetime], int]) -> Callable[[Database, datetime], int]:
    """Run a session-level job in one transaction."""

    def job(db: Database, now: datetime) -> int:
        with db.session() as session:
            return work(session, now)

    return job


JOBS: dict[str, tuple[Callable[[Database, datetime], Any], int]] = {
    "timers": (lambda db, now: timers.sweep(db, now), 15),
    "deadlines": (_in_session(lights.scan), 60),
    "progress": (_in_session(progress.scan), 300),
    "monthly": (_in_session(monthly.run), 900),
    "coordination": (_in_session(lambda session, now: len(coordination.sweep_overdue(session, now))), 300),
    "notices": (_in_session(lambda session, now: notices.generate_due(session, now) is not None), 3600),
    "fund": (_in_session(fund.scan), 300),
    "statistics": (lambda db, now: db.refresh_statistics(), 3600),
    "step_times": (_in_session(step_times.roll_up), 600),
    "outbox": (lambda db, now: notifications.dispatch(
        db, now, lease=timedelta(seconds=Settings.load().outbox_lease_seconds), stop=STOPPING), 15),
}


def run_job(db: Database, name: str, now: Optional[datetime] = None) -> Any:
    """Run one job now and beat its heartbeat."""
    work, _interval = JOBS[name]
    result = work(db, now or utcnow())
    with db.session() as session:
        health.beat(session, f"scheduler.{name}")
    log.info("%s: %s", name, result)
    return result


def run_once(db: Database, names: Optional[list[str]] = None, now: Optional[datetime] = None) -> dict[str, Any]:
    """Run the named jobs (default: all, outbox last) once each; a failing job is logged and returned, not raised."""
    results: dict[str, Any] = {}
    for name in names or list(JOBS):
        try:
            results[name] = run_job(db, name, now)
        except Exception as exc:  # noqa: BLE001 - one job's failure must not stop the others
            log.exception("调度任务 %s 失败", name)
            results[name] = exc
    return results


def _guarded(db: Database, name: str) -> None:
    """A scheduled run: failures are logged, never raised into APScheduler's thread."""
    run_once(db, [name])


def build(db: Database) -> BaseScheduler:
    """A scheduler with every job on its interval, each starting immediately (catch-up)."""
    scheduler: BaseScheduler = BackgroundScheduler(timezone=Settings.timezone)
    start = datetime.now(scheduler.timezone)
    for name, (_work, seconds) in JOBS.items():
        scheduler.add_job(_guarded, "interval", seconds=seconds, args=[db, name], id=name, name=name,
                          next_run_time=start, max_instances=1, coalesce=True, misfire_grace_time=None)
    return scheduler


def start_background(db: Database) -> BaseScheduler:
    """Start the jobs in a daemon thread beside the web server."""
    scheduler = build(db)
    scheduler.start()
    return scheduler


def run_forever(db: Database) -> None:
    """Run the jobs in this process until SIGTERM or Ctrl-C; jobs under way finish, the outbox hands back what it has not sent.

    The signal handler only notes the signal: stopping the scheduler from inside the handler could
    deadlock on a lock the interrupted main thread holds. The main thread sleeps in short steps,
    sees the note, and stops everything itself.
    """
    scheduler = build(db)
    signalled: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: signalled.append(signum))
    scheduler.start()
    try:
        while not signalled:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    STOPPING.set()
    scheduler.shutdown(wait=True)
