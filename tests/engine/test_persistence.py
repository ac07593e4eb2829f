"""Instances survive restarts: state without spec, restore mid-flow, versions kept per instance."""
from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import event, select

from engine.projects import lifecycle
from engine.workflow import definitions, state
from engine.platform.models import Definition, Instance
from tests.conftest import BPMN_DIR, FEASIBLE, INTENT, Helper, approval_form


def test_state_row_holds_no_spec_and_restores_mid_flow(h: Helper) -> None:
    pid = h.register()
    h.complete(pid, "anwen", INTENT)
    with h.db.session() as s:
        instance = s.scalars(select(Instance).where(Instance.project_id == pid)).one()
        stored = json.loads(instance.state)
    assert "spec" not in stored and "subprocess_specs" not in stored
    state.WORKFLOWS.clear()
    h.complete(pid, "fx_gongye", FEASIBLE, "feasibility_review")
    state.WORKFLOWS.clear()
    h.complete(pid, "anwen", approval_form(True, 25), "fill_approval_form")
    assert h.only_ready(pid).bpmn_id == "assessment_meeting"


def test_deploy_versions_by_content_and_instances_keep_their_version(h: Helper) -> None:
    files = definitions.read_bundle(BPMN_DIR)
    with h.db.session() as s:
        first, created = definitions.deploy(s, files, lifecycle.LIFECYCLE)
    assert not created and first.version == 1
    pid_old = h.register()
    changed = dict(files)
    changed["project_lifecycle.bpmn"] = files["project_lifecycle.bpmn"].replace('name="确认投资意向"', 'name="确认投资意向（新）"')
    with h.db.session() as s:
        second, created = definitions.deploy(s, changed, lifecycle.LIFECYCLE)
    assert created and second.version == 2
    pid_new = h.register()
    assert h.only_ready(pid_old).name == "确认投资意向"
    assert h.only_ready(pid_new).name == "确认投资意向（新）"
    state.WORKFLOWS.clear()
    h.complete(pid_old, "anwen", INTENT)
    with h.db.session() as s:
        versions = {
            i.project_id: s.get_one(Definition, i.definition_id).version for i in s.scalars(select(Instance))
        }
    assert versions[pid_old] == 1 and versions[pid_new] == 2


def instance_updates(helper: Helper) -> list[set[str]]:
    """From now on, the columns each UPDATE of an instance row names, as SQLite receives them (its driver's statement trace)."""
    names: list[set[str]] = []

    def traced(sql: str) -> None:
        found = re.match(r"UPDATE instance SET (.*) WHERE", sql, re.S)
        if found:
            names.append(set(re.findall(r"(\w+)=", found.group(1))))

    def on_connect(connection: Any, _record: Any) -> None:
        connection.set_trace_callback(traced)

    helper.db.engine.dispose()
    event.listen(helper.db.engine, "connect", on_connect)
    return names


def test_an_advance_writes_the_settled_columns_only_when_they_change(hs: Helper) -> None:
    """SQLite rewrites the index entries of every column an UPDATE names, so status, error and the timer column go only when changed."""
    pid = hs.register()
    written = instance_updates(hs)
    hs.complete(pid, "anwen", INTENT)
    assert written == [{"state", "updated_at", "revision"}]
    hs.complete(pid, "fx_gongye", {"decision": "fail", "opinion": "不可行"}, "feasibility_review")
    assert written[1] == {"state", "updated_at", "revision", "status"}
    with hs.db.session() as s:
        instance = s.scalars(select(Instance).where(Instance.project_id == pid)).one()
        assert (instance.status, instance.revision) == ("completed", 4)
