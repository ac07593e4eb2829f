"""The unit of work commits once through its steps, keeps after-commit work for a commit only, and the core refuses to run unwired."""
from __future__ import annotations

import subprocess
import sys

from decimal import Decimal
from typing import Optional

import pytest
from sqlalchemy import String, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine.platform import audit
from engine.platform import db as unit_of_work
from engine.platform.config import PROJECT_ROOT
from engine.platform.db import Database
from engine.platform.models import Event, Instance, OrgUnit, Project
from engine.workflow import runtime, state
from tests.conftest import INTENT, Helper


class Rollback(Exception):
    """Raised inside a unit of work to make it roll back."""


def test_after_commit_work_runs_after_a_commit_and_never_after_a_rollback(sqlite_db: Database) -> None:
    done: list[str] = []
    with sqlite_db.session() as s:
        unit_of_work.after_commit(s, lambda: done.append("committed"))
        assert done == []
    with pytest.raises(Rollback), sqlite_db.session() as s:
        unit_of_work.after_commit(s, lambda: done.append("rolled back"))
        raise Rollback
    assert done == ["committed"]


def test_after_commit_work_of_a_transaction_rolled_back_inside_the_unit_is_dropped(sqlite_db: Database) -> None:
    done: list[str] = []
    with sqlite_db.session() as s:
        s.execute(select(Instance.id))
        unit_of_work.after_commit(s, lambda: done.append("rolled back"))
        s.rollback()
        unit_of_work.after_commit(s, lambda: done.append("committed"))
    assert done == ["committed"]


def test_the_rows_save_changes_updated_are_known_until_the_transaction_or_a_savepoint_rolls_back(hs: Helper) -> None:
    """They are the rows whose locks the transaction holds: a rollback may have released them, a commit did."""
    pid = hs.register()
    with hs.db.session() as s:
        project = s.get_one(Project, pid)
        project.contact_name = "王五"
        unit_of_work.save_changes(s, project)
        assert unit_of_work.updated_rows(s) == {("project", pid)}
        savepoint = s.begin_nested()
        savepoint.rollback()
        assert unit_of_work.updated_rows(s) == set()
        project.contact_name = "赵六"
        unit_of_work.save_changes(s, project)
        s.commit()
        assert unit_of_work.updated_rows(s) == set()  # the next transaction holds nothing yet
    with hs.db.session() as s:
        assert s.get_one(Project, pid).contact_name == "赵六"


def test_save_changes_leaves_a_changed_relationship_to_the_flush_and_writes_plain_columns_itself(hs: Helper) -> None:
    pid = hs.register()
    with hs.db.session() as s:
        project = s.get_one(Project, pid)
        other = s.scalars(select(OrgUnit).where(OrgUnit.id != project.landing_unit_id)).first()
        assert other is not None
        project.landing_platform = other
        unit_of_work.save_changes(s, project)
        assert project in s.dirty and unit_of_work.updated_rows(s) == set()  # the flush writes it
        other_id = other.id
    with hs.db.session() as s:
        project = s.get_one(Project, pid)
        assert project.landing_platform_id == other_id
        project.contact_name = "李四"
        unit_of_work.save_changes(s, project)
        assert project not in s.dirty and unit_of_work.updated_rows(s) == {("project", pid)}


def test_a_row_inserted_past_the_flush_has_the_model_defaults_and_is_stamped_as_a_flushed_one_would_be(hs: Helper) -> None:
    """A registration inserts its record in one prebuilt INSERT (db.insert_row): the flush has nothing left to do for it, the
    columns it was not given hold the model's defaults, and the light stamps are set before the commit, as for a flushed row."""
    model_id = hs.register()
    with hs.db.session() as s:
        model = s.get_one(Project, model_id)
        values = {"name": "插入的线索", "attracting_unit_id": model.attracting_unit_id, "landing_unit_id": model.landing_unit_id,
                  "category": "service", "total_investment": Decimal(3000), "deputy_id": model.deputy_id,
                  "registered_at": model.registered_at, "last_progress_at": model.registered_at}
        project = unit_of_work.insert_row(s, Project, values)
        assert project in s and not s.new and not s.dirty
        assert (project.stage, project.status, project.investor, project.fund_request) == ("lead", "active", "", 0)
        pid = project.id
    with hs.db.session() as s:
        stored, flushed = s.get_one(Project, pid), s.get_one(Project, model_id)
        assert (stored.name, stored.stage, stored.status, stored.tier, stored.total_investment) == ("插入的线索", "lead", "active", "", 3000)
        assert stored.yellow_at is not None and (stored.yellow_at, stored.red_at) == (flushed.yellow_at, flushed.red_at)


def test_a_prebuilt_insert_refuses_a_model_whose_default_the_database_gives() -> None:
    """Every column is named in the INSERT, so a server-side or SQL-expression default would be overwritten with NULL."""

    class Other(DeclarativeBase):
        pass

    class Stamped(Other):
        __tablename__ = "stamped"
        id: Mapped[int] = mapped_column(primary_key=True)
        label: Mapped[str] = mapped_column(String(10), default="x")
        at: Mapped[Optional[str]] = mapped_column(String(30), server_default=text("CURRENT_TIMESTAMP"))

    with pytest.raises(ValueError, match="Stamped.at"):
        unit_of_work.with_defaults(Stamped, {})
    assert unit_of_work.with_defaults(Stamped, {"at": "now"}) == {"at": "now", "label": "x"}


def test_the_registered_steps_run_once_per_commit_before_the_events_are_chained(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(unit_of_work, "STEPS", unit_of_work.Steps())
    unit_of_work.STEPS.add(before_commit=lambda s: seen.append(any(isinstance(row, Event) and row.seq is None for row in s.new)))
    with sqlite_db.session() as s:
        s.add(Event(kind="note", summary="一条记录"))
    with sqlite_db.session() as s:
        chained = s.scalars(select(Event).where(Event.kind == "note")).one()
    assert seen == [True, False]  # once per unit of work; the first saw its event before the chain sealed it
    assert chained.seq is not None and chained.hash


def test_sealing_a_unit_of_work_that_wrote_nothing_begins_no_transaction(sqlite_db: Database) -> None:
    with sqlite_db.session() as s:
        audit.seal(s)
        assert s.get_transaction() is None


def test_a_completion_that_rolls_back_leaves_no_live_workflow_in_the_cache(hs: Helper) -> None:
    pid = hs.register()
    task = hs.only_ready(pid)
    state.WORKFLOWS.clear()
    with pytest.raises(Rollback), hs.db.session() as s:
        runtime.complete_task(s, task.id, s.merge(hs.user("anwen")), INTENT)
        instance_id, revision = s.execute(select(Instance.id, Instance.revision).where(Instance.project_id == pid)).one()
        raise Rollback
    assert state.WORKFLOWS.take(instance_id, revision) is None
    outcome = hs.complete(pid, "anwen", INTENT)
    with hs.db.session() as s:
        committed = s.get(Instance, outcome.instance_id)
        assert committed is not None
        assert state.WORKFLOWS.take(committed.id, committed.revision) is not None


def test_the_core_and_the_record_refuse_to_run_unwired_and_importing_registers_nothing() -> None:
    code = (
        "import importlib, pkgutil, engine\n"
        "from engine.platform import db\n"
        "from engine.platform.errors import EngineError\n"
        "from engine.projects import record\n"
        "from engine.workflow import hooks\n"
        "[importlib.import_module(m.name) for m in pkgutil.walk_packages(engine.__path__, 'engine.') if '.migrations' not in m.name]\n"
        "assert db.STEPS.before_flush == [] and db.STEPS.before_commit == []\n"
        "for call in (hooks.subject, lambda: record.fund_project_cap(None)):\n"
        "    try:\n"
        "        call()\n"
        "    except EngineError as exc:\n"
        "        print(exc.message)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("请联系系统管理员") == 2, result.stdout
