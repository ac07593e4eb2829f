"""Inbox and ledger pages over 100k projects and 1M task rows, on SQLite and PostgreSQL.

Fills a database with the demo county, 100,000 projects (10 % still running), 1,000,000 task
rows (each project's completed steps plus one ready task per running project, spread over the
county's towns and 120 more synthetic ones; the town official `anwen` holds 50 pending tasks
and the town has its share of finished projects; the deputy `fx_gongye` is on leave and has delegated
his tasks to `fx_wenlv` for the week, so her inbox holds both deputies' tasks),
then times whole page requests through the Flask test client in this process and prints
p50/p95 per page (wall time; CPU time of this process beside it, which for SQLite
includes the queries). Baseline: the same pages on the demo-size county (12 projects), measured
in the same process; the ratio shows what the data volume costs. Target: p95 ≤ 50 ms.

Run: `python bench/inbox.py` (SQLite in a temporary file) and
`python bench/inbox.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/bench_inbox`.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from engine import demo, wiring  # noqa: E402
from engine.platform.attachments import FileStore  # noqa: E402
from engine.platform.clock import local_today  # noqa: E402
from engine.platform.db import Database  # noqa: E402
from engine.platform.models import Task, User  # noqa: E402
from engine.workflow import definitions, handover, state  # noqa: E402
from filler import OFFICIAL, PROJECTS, fill, pg_database, prepare, signed_in  # noqa: E402


def timed(client: Any, path: str, runs: int, warmup: int = 5) -> tuple[float, float, float]:
    """p50 and p95 wall time and p50 CPU time of this process, in ms, of whole requests for `path`."""
    samples, cpu = [], []
    for i in range(warmup + runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        elapsed, used = (time.perf_counter() - started) * 1000, (time.process_time() - started_cpu) * 1000
        assert response.status_code == 200, (path, response.status_code)
        if i >= warmup:
            samples.append(elapsed)
            cpu.append(used)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], statistics.median(cpu)


LEAVE = ("fx_gongye", "fx_wenlv")
"""(delegator, delegate): a deputy on leave for a week and the colleague who holds his tasks meanwhile."""


PAGES: list[tuple[str, str, str]] = [
    ("我的待办 (town official)", OFFICIAL, "/"),
    ("我的待办 search", OFFICIAL, "/?q=新材料"),
    ("我的待办 page 2", OFFICIAL, "/?page=2"),
    ("我的待办 (deputy)", "fx_nongye", "/"),
    ("我的待办 (deputy + leave)", LEAVE[1], "/"),
    ("已办 (town official)", OFFICIAL, "/done"),
    ("项目台账 (office, all)", "bangongshi", "/projects"),
    ("项目台账 7亿+ manufacturing", "bangongshi", "/projects?m7=1"),
    ("项目台账 stage + category", "bangongshi", "/projects?stage=approval&category=industrial"),
    ("项目台账 (town official)", OFFICIAL, "/projects"),
]


def on_leave(db: Database) -> int:
    """Delegate the first deputy's tasks to the second for a week from today; the delegate's pending tasks."""
    with db.session() as s:
        people = {u.username: u for u in s.scalars(select(User).where(User.username.in_(LEAVE)))}
        today = local_today()
        handover.delegate_period(s, people[LEAVE[1]].id, today, today + timedelta(days=6), people[LEAVE[0]], "休假")
    with db.session() as s:
        from engine.projects import queries

        return queries.inbox_count(s, s.scalars(select(User).where(User.username == LEAVE[1])).one())


def measure(db: Database, runs: int) -> dict[str, tuple[float, float, float]]:
    """Time every page of PAGES on the given database."""
    from webui import create_app

    app = create_app({"SECRET_KEY": "bench", "ZHIKONG_DB": db, "DATABASE_URL": db.url, "WTF_CSRF_ENABLED": False})
    clients: dict[str, Any] = {}
    results = {}
    for label, user, path in PAGES:
        client = clients.setdefault(user, signed_in(app, user))
        results[label] = timed(client, path, runs)
    return results


def pending(db: Database) -> tuple[int, int]:
    """(ready tasks of the official, task rows in total)."""
    with db.session() as s:
        user = s.scalars(select(User).where(User.username == OFFICIAL)).one()
        from engine.projects import queries

        return queries.inbox_count(s, user), s.scalar(select(func.count(Task.id))) or 0


def run(label: str, make_db: Callable[[str], Database], runs: int, projects: int) -> None:
    """Baseline on the demo county, then the full volume, on one backend."""
    state.WORKFLOWS.clear()
    definitions.forget_parsed()
    small = make_db("small")
    prepare(small)
    with small.session() as s:
        demo.load_projects(s, FileStore(Path(tempfile.mkdtemp(prefix="zhikong-bench-demo-"))))
    on_leave(small)
    baseline = measure(small, runs)
    small.dispose()
    definitions.forget_parsed()
    big = make_db("big")
    prepare(big)
    started = time.perf_counter()
    fill(big, projects)
    mine, rows = pending(big)
    delegated = on_leave(big)
    print(f"{label}: filled {projects:,} projects and {rows:,} task rows in {time.perf_counter() - started:.0f} s; "
          f"{OFFICIAL} has {mine} pending tasks, {LEAVE[1]} {delegated} with {LEAVE[0]}'s on leave")
    results = measure(big, runs)
    big.dispose()
    load = os.getloadavg()[0]
    print(f"{'page':<30} {'p50 ms':>7} {'p95 ms':>7} {'cpu p50':>8} {'demo p50':>9} {'ratio':>6}")
    for page, (p50, p95, cpu) in results.items():
        base = baseline[page][0]
        print(f"{page:<30} {p50:>7.1f} {p95:>7.1f} {cpu:>8.1f} {base:>9.1f} {p50 / base:>6.2f}")
    worst = max(p95 for _, p95, _ in results.values())
    print(f"{label}: worst p95 {worst:.1f} ms (target ≤ 50 ms: {'met' if worst <= 50 else 'NOT met'}); "
          f"load average {load:.1f} on {os.cpu_count()} cores while measuring\n")


def main() -> None:
    """Parse the options, register the hooks, run and print."""
    wiring.install()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="timed requests per page")
    parser.add_argument("--pg", help="PostgreSQL URL of a database this bench may empty (e.g. …/bench_inbox)")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run")
    parser.add_argument("--projects", type=int, default=PROJECTS, help="projects to fill (a smaller county while developing)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="zhikong-bench-"))
    if not args.no_sqlite:
        run("SQLite", lambda name: Database(f"sqlite:///{tmp / name}.db"), args.runs, args.projects)
    if args.pg:
        run("PostgreSQL", lambda name: pg_database(args.pg), args.runs, args.projects)


if __name__ == "__main__":
    main()
