"""Inbox and ledger pages over 100k projects and 1M task rows, on SQLite and PostgreSQL.

Fills a database with the demo county, 100,000 projects (10 % still running), 1,000,000 task
rows (each project's completed steps plus one ready task per running project, spread over the
county's towns and 120 more synthetic ones; the town official `anwen` holds 50 pending tasks
and the town has its share of finished projects),
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
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from engine import wiring  # noqa: E402
from engine.projects import lifecycle
from engine.workflow import definitions, state
from engine import demo
from engine.platform import schema  # noqa: E402
from engine.platform.config import PROJECT_ROOT  # noqa: E402
from engine.platform.db import Database  # noqa: E402
from engine.platform.models import Instance, OrgUnit, Project, Task, User  # noqa: E402

PROJECTS = 100_000
TASKS_PER_PROJECT = 10
RUNNING_SHARE = 0.10
SYNTHETIC_TOWNS = 120
OFFICIAL = "anwen"
PENDING_FOR_OFFICIAL = 50
STEPS = [
    ("confirm_intent", "确认投资意向", "落地单位", "landing_unit", "landing_unit", "intent"),
    ("feasibility_review", "可行性论证", "分管副县长", "deputy", "deputy", "feasibility"),
    ("fill_approval_form", "填写落地审批表", "落地单位", "landing_unit", "landing_unit", "assessment"),
    ("assessment_meeting", "研判小组会议研判", "研判小组", "assessment_group", "county", "assessment"),
    ("leading_group_review", "领导小组会议审议", "领导小组", "leading_group", "county", "leading_group"),
    ("negotiation", "盯引洽谈与落地考察", "项目招引专班", "project_team", "landing_unit", "negotiation"),
    ("joint_inspection", "签写考察联审意见", "项目招引专班", "project_team", "landing_unit", "negotiation"),
    ("t2_deputy_review", "分管副县长审核", "分管副县长", "deputy", "deputy", "approval"),
    ("sign_contract", "项目签约", "落地单位", "landing_unit", "landing_unit", "signing"),
    ("project_landing", "项目落地", "落地单位", "landing_unit", "landing_unit", "landing"),
]
CATEGORIES = ["industrial", "industrial", "industrial", "tourism", "health", "services", "agriculture", "commerce"]


def prepare(db: Database) -> None:
    """Schema, demo organisation, the lifecycle definition and the synthetic towns."""
    schema.upgrade(db)
    with db.session() as s:
        demo.load_org(s)
        definitions.deploy(s, definitions.read_bundle(PROJECT_ROOT / "bpmn"), lifecycle.LIFECYCLE)
        s.add_all(OrgUnit(code=f"town{i:03d}", name=f"测试乡镇{i:03d}", kind="town") for i in range(SYNTHETIC_TOWNS))


def fill(db: Database, seed: int = 7) -> None:
    """Insert the projects, instances and task rows in batches (plain INSERTs, no workflow runs)."""
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    with db.session() as s:
        towns = list(s.scalars(select(OrgUnit.id).where(OrgUnit.kind.in_(("town", "zone")))))
        official = s.scalars(select(User).where(User.username == OFFICIAL)).one()
        users = list(s.scalars(select(User)))
        deputies = [u.id for u in users if "deputy" in u.roles]
        others = [u.id for u in users if u.id != official.id]
        definition_id = definitions.latest(s, lifecycle.LIFECYCLE).id
        registrar = official.id
    other_towns = [t for t in towns if t != official.unit_id]
    running = set(rng.sample(range(PROJECTS), int(PROJECTS * RUNNING_SHARE)))
    running_list = sorted(running)
    official_running = set(rng.sample(running_list, PENDING_FOR_OFFICIAL))
    batch = 5_000
    with db.engine.begin() as conn:
        for start in range(0, PROJECTS, batch):
            projects, instances, tasks = [], [], []
            for n in range(start, min(start + batch, PROJECTS)):
                pid = n + 1
                is_running = n in running
                if n in official_running:
                    unit = official.unit_id
                    ready_step = rng.choice([0, 2, 5, 6, 8, 9])
                elif is_running:
                    unit = rng.choice(other_towns)
                    ready_step = rng.randrange(len(STEPS))
                else:
                    unit = rng.choice(towns)
                    ready_step = None
                category = rng.choice(CATEGORIES)
                total = rng.choice([800, 3000, 6000, 12000, 32000, 45000, 80000, 120000])
                registered = now - timedelta(days=rng.randrange(1, 1500))
                stage = STEPS[ready_step][5] if ready_step is not None else rng.choice(["started", "closed"])
                projects.append(
                    dict(
                        id=pid, name=f"项目{pid:06d}{'新材料' if pid % 7 == 0 else ''}", investor=f"投资方{pid % 997}",
                        attracting_unit_id=unit, landing_unit_id=unit, landing_platform_id=unit, category=category,
                        is_manufacturing=category == "industrial" and pid % 2 == 0, total_investment=total,
                        needs_land=total >= 6000, land_mu=rng.choice([0, 15, 28, 40, 60]) if total >= 6000 else 0,
                        deputy_id=rng.choice(deputies), stage=stage, status="active" if is_running else stage,
                        registered_by=registrar, registered_at=registered, last_progress_at=registered + timedelta(days=20),
                        tier=rng.choice(["", "T1", "T2", "T3"]), is_major=pid % 50 == 0,
                    )
                )
                instances.append(
                    dict(id=pid, project_id=pid, definition_id=definition_id, state="{}", revision=1,
                         status="running" if is_running else "completed", created_at=registered, updated_at=registered)
                )
                for k in range(TASKS_PER_PROJECT):
                    bpmn_id, name, lane, role, scope, task_stage = STEPS[k % len(STEPS)]
                    ready = is_running and k == TASKS_PER_PROJECT - 1
                    if ready:
                        bpmn_id, name, lane, role, scope, task_stage = STEPS[ready_step]
                    created = registered + timedelta(days=3 * k)
                    tasks.append(
                        dict(
                            instance_id=pid, project_id=pid, spiff_task_id=str(uuid.UUID(int=rng.getrandbits(128))),
                            bpmn_id=bpmn_id, name=name, lane=lane, role=role, scope=scope,
                            unit_id=unit if scope == "landing_unit" else None,
                            assignee_id=projects[-1]["deputy_id"] if scope == "deputy" else None,
                            stage=task_stage, form="approval_step.schema.json", created_at=created,
                            due_at=(now + timedelta(days=rng.randrange(-40, 60))) if ready else created + timedelta(days=15),
                            status="ready" if ready else "completed",
                            completed_by=None if ready else (registrar if unit == official.unit_id else rng.choice(others)),
                            completed_at=None if ready else created + timedelta(days=2),
                            data=None if ready else {"decision": "pass", "opinion": "同意"},
                        )
                    )
            conn.execute(insert(Project), projects)
            conn.execute(insert(Instance), instances)
            conn.execute(insert(Task), tasks)
            print(f"  {start + len(projects):>7,} projects", end="\r", flush=True)
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            for table in ("project", "instance", "task"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # what autovacuum does after a bulk load
    else:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    print()


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


def signed_in(app: Any, username: str) -> Any:
    """A test client signed in through the login form (CSRF off for the bench only)."""
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": demo.DEMO_PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


PAGES: list[tuple[str, str, str]] = [
    ("我的待办 (town official)", OFFICIAL, "/"),
    ("我的待办 search", OFFICIAL, "/?q=新材料"),
    ("我的待办 page 2", OFFICIAL, "/?page=2"),
    ("已办 (town official)", OFFICIAL, "/done"),
    ("项目台账 (office, all)", "bangongshi", "/projects"),
    ("项目台账 7亿+ manufacturing", "bangongshi", "/projects?m7=1"),
    ("项目台账 stage + category", "bangongshi", "/projects?stage=approval&category=industrial"),
    ("项目台账 (town official)", OFFICIAL, "/projects"),
]


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


def pg_database(url: str) -> Database:
    """A fresh PostgreSQL database for the bench (created if missing, emptied if present)."""
    parsed = make_url(url)
    admin = Database(parsed.set(database="postgres").render_as_string(hide_password=False))
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}):
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    return db


def run(label: str, make_db: Callable[[str], Database], runs: int) -> None:
    """Baseline on the demo county, then the full volume, on one backend."""
    state.WORKFLOWS.clear()
    definitions.forget_parsed()
    small = make_db("small")
    prepare(small)
    with small.session() as s:
        demo.load_projects(s)
    baseline = measure(small, runs)
    small.dispose()
    definitions.forget_parsed()
    big = make_db("big")
    prepare(big)
    started = time.perf_counter()
    fill(big)
    mine, rows = pending(big)
    print(f"{label}: filled {PROJECTS:,} projects and {rows:,} task rows in {time.perf_counter() - started:.0f} s; "
          f"{OFFICIAL} has {mine} pending tasks")
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
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="zhikong-bench-"))
    if not args.no_sqlite:
        run("SQLite", lambda name: Database(f"sqlite:///{tmp / name}.db"), args.runs)
    if args.pg:
        run("PostgreSQL", lambda name: pg_database(args.pg), args.runs)


if __name__ == "__main__":
    main()
