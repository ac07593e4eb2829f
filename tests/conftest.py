"""Shared fixtures: a migrated database with the demo county and the lifecycle deployed."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, select, text

from engine.projects import lifecycle
from engine.workflow import definitions, runtime, state
from engine import demo, wiring
from engine.platform import schema
from engine.platform.config import PROJECT_ROOT
from engine.platform.db import Database
from engine.platform.models import OrgUnit, Project, Task, User
from engine.platform.org import can_act

if TYPE_CHECKING:
    from tests.webui.conftest import Auth

BPMN_DIR = PROJECT_ROOT / "bpmn"
PG_URL = os.environ.get("ZHIKONG_TEST_PG")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
HelperT = TypeVar("HelperT")


@pytest.fixture(scope="session", autouse=True)
def wired() -> None:
    """The domain packages' hooks, registered once as the web app, the CLI and the scheduler do."""
    wiring.install()


def reset_postgres(url: str) -> None:
    """Drop the whole public schema of the test database so migrations start from nothing."""
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    db.dispose()


def fresh_database(backend: str, tmp_path: Path) -> Database:
    """A migrated, empty database on the requested backend, built through the whole Alembic chain."""
    forget_process_caches()
    if backend == "postgresql":
        assert PG_URL is not None
        reset_postgres(PG_URL)
        db = Database(PG_URL)
    else:
        db = Database(f"sqlite:///{tmp_path / 'zhikong.db'}")
    schema.upgrade(db)
    return db


def forget_process_caches() -> None:
    """Live workflows and parsed definitions belong to the database that is being replaced."""
    state.WORKFLOWS.clear()
    definitions.forget_parsed()


def _prepare(db: Database) -> None:
    with db.session() as s:
        demo.load_org(s)
        definitions.deploy(s, definitions.read_bundle(BPMN_DIR), lifecycle.LIFECYCLE)


class Templates:
    """Prepared databases migrated once per test session and copied per test (a file copy, or CREATE DATABASE … TEMPLATE)."""

    sqlite_file: Path | None = None
    postgres_ready = False

    @classmethod
    def sqlite(cls, target: Path) -> Database:
        if cls.sqlite_file is None:
            folder = Path(tempfile.mkdtemp(prefix="zhikong-template-"))
            atexit.register(shutil.rmtree, folder, True)
            db = fresh_database("sqlite", folder)
            _prepare(db)
            db.dispose()
            cls.sqlite_file = folder / "zhikong.db"
        forget_process_caches()
        shutil.copyfile(cls.sqlite_file, target)
        return Database(f"sqlite:///{target}")

    @classmethod
    def postgres(cls) -> Database:
        assert PG_URL
        url = make_url(PG_URL)
        name, template = url.database, f"{url.database}_template"
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                if not cls.postgres_ready:
                    db = fresh_database("postgresql", Path(tempfile.gettempdir()))
                    _prepare(db)
                    db.dispose()
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
                    conn.execute(text(f'CREATE DATABASE "{template}" TEMPLATE "{name}"'))
                    cls.postgres_ready = True
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        finally:
            admin.dispose()
        forget_process_caches()
        return Database(PG_URL)


def prepared_database(backend: str, tmp_path: Path) -> Database:
    """Migrated, with the demo org and the bpmn/ bundle deployed (no projects): a copy of the session's template."""
    if backend == "postgresql":
        return Templates.postgres()
    return Templates.sqlite(tmp_path / "zhikong.db")


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """Engine database on every available backend."""
    database = prepared_database(request.param, tmp_path)
    yield database
    database.dispose()


def make_app(database: Database) -> Flask:
    """The web app over a prepared database, in testing mode."""
    from webui import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "test", "ZHIKONG_DB": database, "DATABASE_URL": database.url})


def web_parts(database: Database, helper: Callable[[Database], HelperT]) -> tuple[FlaskClient, Auth, HelperT]:
    """(test client, sign-in helper, a test helper over the same database) for the web tests of a module."""
    from tests.webui.conftest import Auth

    client = make_app(database).test_client()
    return client, Auth(client), helper(database)


@pytest.fixture
def app(sqlite_db: Database) -> Flask:
    """The web app over the prepared SQLite database."""
    return make_app(sqlite_db)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of that app."""
    return app.test_client()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """Engine database on SQLite only (for the many fast routing cases)."""
    database = prepared_database("sqlite", tmp_path)
    yield database
    database.dispose()


class Helper:
    """Small vocabulary for tests: look up users/units, register, act as the right official."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def user(self, username: str) -> User:
        with self.db.session() as s:
            return s.scalars(select(User).where(User.username == username)).one()

    def unit(self, code: str) -> int:
        with self.db.session() as s:
            return s.scalars(select(OrgUnit.id).where(OrgUnit.code == code)).one()

    def register(self, by: str = "anwen", **fields: Any) -> int:
        data = {
            "name": "测试项目",
            "investor": "测试投资方",
            "category": "industrial",
            "total_investment": 50000,
            "landing_unit_id": self.user(by).unit_id,
            "deputy_id": self.user("fx_gongye").id,
        }
        data.update(fields)
        with self.db.session() as s:
            return lifecycle.register(s, data, s.merge(self.user(by))).project_id

    def ready(self, project_id: int) -> list[Task]:
        with self.db.session() as s:
            return list(s.scalars(select(Task).where(Task.project_id == project_id, Task.status == "ready")))

    def only_ready(self, project_id: int) -> Task:
        tasks = self.ready(project_id)
        assert len(tasks) == 1, [t.bpmn_id for t in tasks]
        return tasks[0]

    def complete(self, project_id: int, username: str, data: dict[str, Any], bpmn_id: str | None = None) -> runtime.Outcome:
        """Complete the project's one ready task as `username` (a meeting step as its sitting would)."""
        task = self.only_ready(project_id)
        if bpmn_id is not None:
            assert task.bpmn_id == bpmn_id
        with self.db.session() as s:
            return runtime.complete_task(s, task.id, s.merge(self.user(username)), data, at_meeting=True)

    def actors_for(self, project_id: int) -> list[str]:
        task = self.only_ready(project_id)
        with self.db.session() as s:
            return sorted(u.username for u in s.scalars(select(User)) if can_act(u, task))

    def project(self, project_id: int) -> Project:
        with self.db.session() as s:
            return s.get_one(Project, project_id)


@pytest.fixture
def h(db: Database) -> Helper:
    return Helper(db)


@pytest.fixture
def hs(sqlite_db: Database) -> Helper:
    return Helper(sqlite_db)


INTENT = {"has_intent": True, "opinion": "有意向"}
FEASIBLE = {"decision": "pass", "opinion": "论证通过"}
PASS = {"decision": "pass", "opinion": "同意"}
NEGOTIATED = {"decision": "continue", "opinion": "洽谈完成"}
JOINT = {"decision": "pass", "opinion": "联审同意"}
APPROVE = {"decision": "approve", "opinion": "同意"}


def approval_form(needs_land: bool, land_mu: float = 0, support: bool = False) -> dict[str, Any]:
    form: dict[str, Any] = {"needs_land": needs_land, "one_case_support": support, "summary": "概况", "opinion": "请审议"}
    if needs_land:
        form["land_mu"] = land_mu
    return form


def drive_to_tier(h: Helper, project_id: int, unit_user: str, form: dict[str, Any]) -> None:
    """Complete intent → joint inspection with the responsible officials."""
    h.complete(project_id, unit_user, INTENT, "confirm_intent")
    h.complete(project_id, "fx_gongye", FEASIBLE, "feasibility_review")
    h.complete(project_id, unit_user, form, "fill_approval_form")
    h.complete(project_id, "yanpan", PASS, "assessment_meeting")
    h.complete(project_id, "lingdao", PASS, "leading_group_review")
    h.complete(project_id, unit_user, NEGOTIATED, "negotiation")
    h.complete(project_id, unit_user, JOINT, "joint_inspection")


Drive = Callable[[Helper, int, str, dict[str, Any]], None]
