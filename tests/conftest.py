"""Shared fixtures: a migrated database with the demo county and the lifecycle deployed."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, create_engine, make_url, select, text
from sqlalchemy.pool import NullPool
from werkzeug.security import generate_password_hash

from engine.projects import lifecycle
from engine.workflow import definitions, runtime, state
from engine import demo, wiring
from engine.demo import DEMO_PASSWORD
from engine.platform import schema
from engine.platform.config import PROJECT_ROOT
from engine.platform.db import Database
from engine.platform.models import OrgUnit, Project, Task, User
from engine.platform.org import can_act

if TYPE_CHECKING:
    from tests.webui.conftest import Auth

BPMN_DIR = PROJECT_ROOT / "bpmn"


def worker_url(url: str | None) -> str | None:
    """ZHIKONG_TEST_PG for this process: under pytest-xdist each worker gets its own database, named after the worker."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


PG_URL = worker_url(os.environ.get("ZHIKONG_TEST_PG"))
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
HelperT = TypeVar("HelperT")


@pytest.fixture(scope="session", autouse=True)
def wired() -> None:
    """The domain packages' hooks, registered once as the web app, the CLI and the scheduler do."""
    wiring.install()


def ensure_postgres_database(url: str) -> None:
    """Create the database `url` names when the server lacks it (a worker's database on its first run)."""
    name = make_url(url).database
    with server(url) as conn:
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))


def reset_postgres(url: str) -> None:
    """Drop the whole public schema of the test database so migrations start from nothing."""
    ensure_postgres_database(url)
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


Prepare = Callable[[Database], None]


TEST_PASSWORD_HASH = "scrypt:1024:8:1"
"""The work factor the templates' officials' passwords are stored with. The suite signs in about a thousand times,
and scrypt at the production factor (32768, `org.hash_password`) costs 140 ms a check on this machine; the product's
check reads the factor from the stored hash, so only the time differs. test_login_throttle checks the production factor."""


def prepare_county(db: Database) -> None:
    """What every template holds: the demo org (passwords at the test work factor) and the bpmn/ lifecycle deployed."""
    with db.session() as s:
        demo.load_org(s)
        for user in s.scalars(select(User)):
            user.password_hash = generate_password_hash(DEMO_PASSWORD, method=TEST_PASSWORD_HASH)
        definitions.deploy(s, definitions.read_bundle(BPMN_DIR), lifecycle.LIFECYCLE)


@contextmanager
def server(url: str) -> Iterator[Connection]:
    """An autocommit connection to the server's `postgres` database, for CREATE and DROP DATABASE."""
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            yield conn
    finally:
        admin.dispose()


def _drop_database(url: str, name: str) -> None:
    """Drop database `name` if it is there, closing its connections."""
    with server(url) as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _copy_database(url: str, template: str, name: str) -> None:
    """Replace database `name` with a copy of `template`."""
    with server(url) as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))


class CopiedDatabase(Database):
    """A database lent to one test; disposing of it hands it back."""

    def __init__(self, url: str, done: Callable[[], None]) -> None:
        super().__init__(url)
        self._done: Callable[[], None] | None = done

    def dispose(self) -> None:
        """Close the pool, then hand the database back once."""
        super().dispose()
        if self._done is not None:
            self._done()
            self._done = None


SCHEMA_FINGERPRINT = """
SELECT md5(string_agg(item, ',' ORDER BY item COLLATE "C")) FROM (
  SELECT 'n' || oid || ':' || xmin FROM pg_namespace
  UNION ALL SELECT 'c' || oid || ':' || xmin FROM pg_class WHERE relnamespace = 'public'::regnamespace
  UNION ALL SELECT 't' || oid || ':' || xmin FROM pg_type WHERE typnamespace = 'public'::regnamespace
  UNION ALL SELECT 'p' || oid || ':' || xmin FROM pg_proc WHERE pronamespace = 'public'::regnamespace
  UNION ALL SELECT 'k' || oid || ':' || xmin FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL SELECT 'a' || a.attrelid || '.' || a.attnum || ':' || a.xmin FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL SELECT 'd' || d.oid || ':' || d.xmin FROM pg_attrdef d
    JOIN pg_class c ON c.oid = d.adrelid WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL SELECT 'i' || i.indexrelid || ':' || i.xmin FROM pg_index i
    JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL SELECT 'g' || t.oid || ':' || t.xmin FROM pg_trigger t
    JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL SELECT 's' || q.seqrelid || ':' || q.xmin FROM pg_sequence q
    JOIN pg_class c ON c.oid = q.seqrelid WHERE c.relnamespace = 'public'::regnamespace
) AS schema_items(item)
"""
"""The versions of the schema's catalog rows: any DDL (a dropped or disabled trigger, an added column) writes a new
version of a row, with a new xmin, or adds or removes one; a copy made from a template keeps the template's versions.
Reading row versions takes 4–6 ms here, where deparsing every definition took 21."""


@dataclass
class Snapshot:
    """A template's schema fingerprint, every public table's rows (COPY text) and its sequences' positions."""

    fingerprint: str
    rows: dict[str, bytes]
    sequences: list[tuple[str, int | None]]


def _libpq(url: str) -> str:
    """The libpq form of a SQLAlchemy PostgreSQL URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _snapshot(url: str) -> Snapshot:
    """Read a pristine copy of a template."""
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        tables = [row[0] for row in conn.execute("SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'")]
        rows = {}
        for table in tables:
            with conn.cursor().copy(f"COPY (SELECT * FROM {table} ORDER BY ctid) TO STDOUT") as copy:
                rows[table] = b"".join(bytes(block) for block in copy)
        sequences = conn.execute(
            "SELECT quote_ident(sequencename), last_value FROM pg_sequences WHERE schemaname = 'public'"
        ).fetchall()
        return Snapshot(conn.execute(SCHEMA_FINGERPRINT).fetchone()[0], rows, sequences)


def _restore(url: str, snapshot: Snapshot) -> bool:
    """Put a used copy back to the snapshot's rows; False when its schema differs (a test altered it)."""
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        if conn.execute(SCHEMA_FINGERPRINT).fetchone()[0] != snapshot.fingerprint:
            return False
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")  # rows go back in any order, no foreign-key checks
            # DELETE, not TRUNCATE: TRUNCATE makes new files for every table and index (5× slower); one round trip for all
            conn.execute("; ".join(f"DELETE FROM {table}" for table in snapshot.rows).encode())
            for table, data in snapshot.rows.items():
                if data:
                    with conn.cursor().copy(f"COPY {table} FROM STDIN") as copy:
                        copy.write(data)
            positions = [f"setval('{name}', {position})" if position is not None else f"setval('{name}', 1, false)"
                         for name, position in snapshot.sequences]
            conn.execute(f"SELECT {', '.join(positions)}")
        return True


class PostgresCopies:
    """The PostgreSQL databases this process's tests run on, put back to a template's rows between tests.

    Each database is first made as a copy of a template. After a test it is put back to a
    template's rows (DELETE, COPY, setval) instead of being dropped and copied again: DROP
    DATABASE forces a checkpoint and CREATE DATABASE writes every page, seconds on a busy
    server, against milliseconds. A database whose schema the test changed (a dropped or
    disabled trigger) is copied afresh. Databases are named `<database>_copy_<n>`."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.names: list[str] = []
        self.free: list[str] = []
        self.snapshots: dict[str, Snapshot] = {}

    def _url(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def take(self, template: str) -> Database:
        """A database holding exactly what `template` holds."""
        snapshot = self.snapshots.get(template)
        if self.free:
            name = self.free.pop()
            restored = snapshot is not None and _restore(self._url(name), snapshot)
        else:
            name, restored = f"{self.url.database}_copy_{len(self.names)}", False
            self.names.append(name)
        if not restored:
            _copy_database(str(self.url), template, name)
            if snapshot is None:
                self.snapshots[template] = _snapshot(self._url(name))
        return CopiedDatabase(self._url(name), lambda: self.free.append(name))

    def close(self) -> None:
        """Drop every database this process made (the end of the session)."""
        for name in self.names:
            _drop_database(str(self.url), name)


class Templates:
    """Prepared databases migrated once per test session and copied per test (a file copy, or CREATE DATABASE … TEMPLATE).

    A template holds the migrated schema and `prepare_county`, plus optionally one more
    preparation (e.g. every process deployed); each is made once per session and process."""

    sqlite_files: dict[Prepare | None, Path] = {}
    postgres_templates: dict[Prepare | None, str] = {}
    copies: PostgresCopies | None = None

    @classmethod
    def sqlite_file(cls, extra: Prepare | None) -> Path:
        """The SQLite template file for `extra`, made on first use."""
        if extra not in cls.sqlite_files:
            folder = Path(tempfile.mkdtemp(prefix="zhikong-template-"))
            atexit.register(shutil.rmtree, folder, True)
            path = folder / "zhikong.db"
            if extra is None:
                db = fresh_database("sqlite", folder)
                prepare_county(db)
            else:
                shutil.copyfile(cls.sqlite_file(None), path)
                forget_process_caches()
                db = Database(f"sqlite:///{path}")
                extra(db)
            db.dispose()
            cls.sqlite_files[extra] = path
        return cls.sqlite_files[extra]

    @classmethod
    def postgres_template(cls, extra: Prepare | None) -> str:
        """The name of the PostgreSQL template database for `extra`, made on first use."""
        assert PG_URL
        if extra not in cls.postgres_templates:
            name = make_url(PG_URL).database
            assert name, "ZHIKONG_TEST_PG names no database"
            if extra is None:
                db = fresh_database("postgresql", Path(tempfile.gettempdir()))
                prepare_county(db)
                template = f"{name}_template"
            else:
                _copy_database(PG_URL, cls.postgres_template(None), name)
                forget_process_caches()
                db = Database(PG_URL)
                extra(db)
                template = f"{name}_template_{extra.__name__}"
            db.dispose()
            _copy_database(PG_URL, name, template)
            cls.postgres_templates[extra] = template
        return cls.postgres_templates[extra]

    @classmethod
    def postgres_copy(cls, extra: Prepare | None) -> Database:
        """A database holding what the PostgreSQL template for `extra` holds."""
        assert PG_URL
        template = cls.postgres_template(extra)
        if cls.copies is None:
            cls.copies = PostgresCopies(PG_URL)
        return cls.copies.take(template)

    @classmethod
    def close(cls) -> None:
        """Drop this process's PostgreSQL copies (the templates stay for the next run to replace)."""
        if cls.copies is not None:
            cls.copies.close()


def prepared_database(backend: str, tmp_path: Path, extra: Prepare | None = None) -> Database:
    """Migrated, with the demo org and the bpmn/ bundle deployed (no projects), plus `extra`: a copy of the session's template."""
    if backend == "postgresql":
        database = Templates.postgres_copy(extra)
    else:
        target = tmp_path / "zhikong.db"
        shutil.copyfile(Templates.sqlite_file(extra), target)
        database = Database(f"sqlite:///{target}")
    forget_process_caches()
    return database


def pytest_sessionfinish() -> None:
    """Drop this process's PostgreSQL copies once its tests are done."""
    Templates.close()


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """Engine database on every available backend."""
    database = prepared_database(request.param, tmp_path)
    yield database
    database.dispose()


def attachments_dir() -> str:
    """A folder of its own for one app's attachments, made only when a file is stored there."""
    return str(Path(tempfile.gettempdir()) / f"zhikong-attachments-{uuid.uuid4().hex}")


def make_app(database: Database) -> Flask:
    """The web app over a prepared database, in testing mode, with its own attachments folder."""
    from webui import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "test", "ZHIKONG_DB": database, "DATABASE_URL": database.url,
                       "ATTACHMENTS_DIR": attachments_dir()})


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
        """Register one lead by `by`, landing in their unit, with the test's defaults and `fields`."""
        (project_id,) = self.register_many([fields.pop("name", "测试项目")], by, **fields)
        return project_id

    def register_many(self, names: list[str], by: str = "anwen", **fields: Any) -> list[int]:
        """Register a lead per name in one unit of work (as a bulk import registers its rows)."""
        official, deputy = self.user(by), self.user("fx_gongye")
        data = {"investor": "测试投资方", "category": "industrial", "total_investment": 50000,
                "landing_unit_id": official.unit_id, "deputy_id": deputy.id, **fields}
        with self.db.session() as s:
            actor = s.merge(official)
            definition_id = definitions.latest(s, lifecycle.LIFECYCLE).id
            return [lifecycle.register(s, {**data, "name": name}, actor, definition_id).project_id for name in names]

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
