"""`zhikong init-db` re-checks every stored definition version: one that fails is listed and its instances suspended, never run."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text
from flask.testing import FlaskClient

from engine.projects import lifecycle
from engine.workflow import definitions, recheck, runtime
from engine.platform.db import Database
from engine.platform.errors import AlreadyCompleted, DefinitionInvalid
from engine.platform.models import Definition, Event, Instance, Task
from tests.admin.conftest import AdminHelper, WebAdmin
from tests.commands import zhikong
from tests.conftest import INTENT

HOSTILE = "(x for x in []).gi_frame.f_back.f_builtins"


def _plant_hostile_condition(db: Database) -> int:
    """Rewrite the stored lifecycle version in place, as a row written before today's checks or straight into the database."""
    with db.session() as s:
        row = s.scalars(select(Definition).where(Definition.process_id == lifecycle.LIFECYCLE)).one()
        files = dict(row.files)
        files["project_lifecycle.bpmn"] = files["project_lifecycle.bpmn"].replace("has_intent == True", HOSTILE, 1)
        s.execute(text("UPDATE definition SET files = :files WHERE id = :id"),
                  {"files": __import__("json").dumps(files, ensure_ascii=False), "id": row.id})
        return row.id


def test_a_refused_stored_version_suspends_its_instances_and_is_never_loaded(ah: AdminHelper) -> None:
    running = ah.register()
    definition_id = _plant_hostile_condition(ah.db)
    definitions.forget_parsed()
    with ah.db.session() as s:
        refused = recheck.recheck_stored(s)
    assert [(r.definition_id, r.suspended) for r in refused] == [(definition_id, 1)]
    assert "gw_intent" in refused[0].reason and "gi_frame" in refused[0].reason
    instance = ah.instance(running)
    assert instance.status == "suspended" and instance.error["type"] == "DefinitionRefused"
    assert {t.status for t in ah.ready(running)} == set()
    with ah.db.session() as s:
        assert s.scalars(select(Task.status).where(Task.project_id == running)).all() == ["suspended"]
        with pytest.raises(DefinitionInvalid):
            definitions.load(s, definition_id)
        task = s.scalars(select(Task).where(Task.project_id == running)).one()
        with pytest.raises(AlreadyCompleted, match="挂起"):
            runtime.complete_task(s, task.id, s.merge(ah.user("anwen")), INTENT)
    with ah.db.session() as s:
        again = recheck.recheck_stored(s)
        assert [(r.definition_id, r.suspended) for r in again] == [(definition_id, 0)]
        assert len(s.scalars(select(Event).where(Event.kind == recheck.REFUSED_EVENT)).all()) == 1
        assert [v["version"] for v in recheck.refused_versions(s)] == [1]


def test_init_db_lists_the_refused_versions(ahs: AdminHelper) -> None:
    ahs.register()
    clean = zhikong({"DATABASE_URL": ahs.db.url}, "init-db")
    assert clean.returncode == 0 and "已存流程定义全部通过当前安全检查" in clean.stdout, clean.stderr
    _plant_hostile_condition(ahs.db)
    out = zhikong({"DATABASE_URL": ahs.db.url}, "init-db")
    assert out.returncode == 0, out.stderr
    assert "流程定义 project_lifecycle 第1版未通过当前安全检查，本次挂起其运行中的实例 1 个" in out.stdout
    with ahs.db.session() as s:
        assert s.scalars(select(Instance.status)).all() == ["suspended"]


def test_the_console_lists_refused_versions(ahs: AdminHelper, client: FlaskClient, web: WebAdmin) -> None:
    ahs.register()
    web.login()
    assert 'id="refused"' not in client.get("/admin/").get_data(as_text=True)
    _plant_hostile_condition(ahs.db)
    with ahs.db.session() as s:
        recheck.recheck_stored(s)
    page = client.get("/admin/").get_data(as_text=True)
    section = page[page.index('id="refused"'):page.index('id="stuck"')]
    assert "project_lifecycle" in section and "gi_frame" in section and "gw_intent" in section
