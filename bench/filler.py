"""Shared by the page benchmarks: the demo county with 100k projects and 1M task rows by plain INSERTs, sign-in, a PostgreSQL database."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url

from engine import demo
from engine.platform import revisions, schema
from engine.platform.config import PROJECT_ROOT
from engine.platform.db import Database
from engine.platform.models import Instance, OrgUnit, Project, Task, User
from engine.projects import lifecycle
from engine.supervision import stamps
from engine.workflow import definitions

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


def fill(db: Database, projects: int = PROJECTS, seed: int = 7) -> None:
    """Insert the projects, instances and task rows in batches (plain INSERTs, no workflow runs), after any rows already there."""
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
        first_project = s.scalar(select(func.max(Project.id))) or 0
        first_instance = s.scalar(select(func.max(Instance.id))) or 0
    other_towns = [t for t in towns if t != official.unit_id]
    running = set(rng.sample(range(projects), int(projects * RUNNING_SHARE)))
    running_list = sorted(running)
    official_running = set(rng.sample(running_list, min(PENDING_FOR_OFFICIAL, len(running_list) // 2)))
    batch = 5_000
    with db.engine.begin() as conn:
        for start in range(0, projects, batch):
            rows, instances, tasks = [], [], []
            for n in range(start, min(start + batch, projects)):
                pid, iid = first_project + n + 1, first_instance + n + 1
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
                rows.append(
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
                    dict(id=iid, project_id=pid, definition_id=definition_id, state="{}", revision=1,
                         status="running" if is_running else "completed", created_at=registered, updated_at=registered)
                )
                for k in range(TASKS_PER_PROJECT):
                    bpmn_id, name, lane, role, scope, task_stage = STEPS[k % len(STEPS)]
                    ready = ready_step is not None and k == TASKS_PER_PROJECT - 1
                    if ready_step is not None and ready:
                        bpmn_id, name, lane, role, scope, task_stage = STEPS[ready_step]
                    created = registered + timedelta(days=3 * k)
                    tasks.append(
                        dict(
                            instance_id=iid, project_id=pid, spiff_task_id=str(uuid.UUID(int=rng.getrandbits(128))),
                            bpmn_id=bpmn_id, name=name, lane=lane, role=role, scope=scope,
                            unit_id=unit if scope == "landing_unit" else None,
                            assignee_id=rows[-1]["deputy_id"] if scope == "deputy" else None,
                            stage=task_stage, form="approval_step.schema.json", created_at=created,
                            due_at=(now + timedelta(days=rng.randrange(-40, 60))) if ready else created + timedelta(days=15),
                            status="ready" if ready else "completed",
                            completed_by=None if ready else (registrar if unit == official.unit_id else rng.choice(others)),
                            completed_at=None if ready else created + timedelta(days=2),
                            data=None if ready else {"decision": "pass", "opinion": "同意"},
                        )
                    )
            conn.execute(insert(Project), rows)
            conn.execute(insert(Instance), instances)
            conn.execute(insert(Task), tasks)
            print(f"  {start + len(rows):>7,} projects", end="\r", flush=True)
    settle(db, ("project", "instance", "task"))
    print()


def settle(db: Database, tables: tuple[str, ...]) -> None:
    """After a bulk load: stamp the projects' lights, give every data revision a new token, move PostgreSQL's id sequences past
    the inserted ids, and refresh the planner's statistics."""
    with db.session() as s:  # the rows went in as plain INSERTs, past the unit of work that keeps the stamps and the revisions
        if "task" in tables or "project" in tables:
            stamps.restamp(s, None)
        revisions.move_all(s)
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            for table in tables:
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))"))
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # what autovacuum does after a bulk load
    else:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def signed_in(app: Any, username: str) -> Any:
    """A test client signed in through the login form (CSRF off for the bench only)."""
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": demo.DEMO_PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


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
